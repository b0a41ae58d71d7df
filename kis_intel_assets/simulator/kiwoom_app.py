"""The Kiwoom-protocol Starlette app: au10001 tokens, POST TRs by api-id, cont-yn/next-key paging,
the request limit, error answers and faults, all over the simulator's MarketModel.

Simulator decisions (docs/kiwoom_api.md lists what is sourced):
- Token: POST /oauth2/token {grant_type, appkey, secretkey}; `expires_dt` = KST wall-clock now + ttl.
  `reissue_same_token` (default True) returns the live token again; False issues a new one each time (the
  old one stays valid until it expires). Bad grant_type 8012, missing keys 8020, wrong keys 8001.
- Requests: missing api-id 1501, unknown api-id 1505, api-id on the wrong path 1504, no authorization
  1513, unknown or expired token 8005 (HTTP `invalid_token_status`, default 200); missing body key 1511,
  malformed value 1517, unknown stock code 1902. Checks run in that order, the limit before the token.
- Limit (sourced: a bucket per app key and TR): at most int(rate_limit_per_sec) requests of one TR per key
  in any sliding second (`rate_limit_scope` "per_tr"; "per_key" counts every TR of a key in one bucket);
  refused ones answer return_code 5 "허용된 요청 개수를 초과하였습니다[1700:허용된 API 요청 개수를
  초과하였습니다. 유량=<that int>, API ID=<api-id>]". `total_rate_limit_per_sec` (default None: no such
  limit; Kiwoom's figure is unknown) adds a key-wide limit over all TRs, answered "...[1701:허용된 전체 요청
  개수를 초과하였습니다. 총유량=<int>]". The TR's bucket is checked first; a request refused by either
  counts against neither. Both answers carry HTTP `rate_limit_status` (429 or 200). The group limit
  ([1702]) and [1687] are not simulated.
- Paging: `page_size` rows per page; cont-yn "Y" plus next-key "<digest of api-id and body>:<offset>";
  a next-key from another request is 1517.
- ka90004 lists every stock of the market-day by default; `program_list_most_traded` = N keeps only the N
  with the largest programme value (whether a live list covers the whole market is not documented).
- Faults (`fault_rates`, seeded by `fault_seed`): rate_limited (a 1700 answer), batch_limit (a 1634 answer),
  http5xx (HTTP 500 text body), invalid_token (8005: the caller's token expires). `down=True` answers every
  TR with HTTP 503 (a broker outage).
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kis_intel_assets.simulator.config import KST
from kis_intel_assets.simulator.kiwoom_handlers import (
    SERVICES,
    KiwoomSimError,
    bad_input,
    missing,
    program_all_stocks,
    program_daily,
)
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.tokens import SlidingWindowLimiter

OK = {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}
KIWOOM_FAULT_KINDS = ("rate_limited", "batch_limit", "http5xx", "invalid_token")
RATE_LIMIT_STATUSES = (429, 200)
RATE_LIMIT_SCOPES = ("per_tr", "per_key")
TR_LIMIT, TOTAL_LIMIT = 1700, 1701
SERVED_TIMES_KEPT = 100_000


@dataclass(frozen=True)
class KiwoomSimSettings:
    rate_limit_per_sec: float = 5.0
    rate_limit_status: int = 429
    rate_limit_scope: str = "per_tr"
    total_rate_limit_per_sec: float | None = None
    invalid_token_status: int = 200
    token_ttl_seconds: float = 86400.0
    reissue_same_token: bool = True
    program_fills_both: bool = True  # ka90013: whether each amt_qty_tp mode also fills the other's fields
    # ka90004: None = every stock of the market-day; N = only the N most traded (a partial live list)
    program_list_most_traded: int | None = None
    page_size: int = 100
    allowed_keys: dict[str, str] | None = None
    fault_rates: dict[str, float] = field(default_factory=dict)
    fault_seed: int = 0

    def __post_init__(self) -> None:
        if self.rate_limit_status not in RATE_LIMIT_STATUSES:
            raise ValueError(
                f"rate_limit_status must be one of {RATE_LIMIT_STATUSES}, got {self.rate_limit_status}"
            )
        if self.rate_limit_scope not in RATE_LIMIT_SCOPES:
            raise ValueError(
                f"rate_limit_scope must be one of {RATE_LIMIT_SCOPES}, got {self.rate_limit_scope!r}"
            )
        if self.total_rate_limit_per_sec is not None and self.total_rate_limit_per_sec < 1:
            raise ValueError(
                f"total_rate_limit_per_sec must be at least 1 or None, got {self.total_rate_limit_per_sec}"
            )
        unknown = set(self.fault_rates) - set(KIWOOM_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown Kiwoom fault kinds {sorted(unknown)}; known: {KIWOOM_FAULT_KINDS}")
        if self.page_size < 1 or self.rate_limit_per_sec <= 0:
            raise ValueError("page_size and rate_limit_per_sec must be positive")


@dataclass
class KiwoomSimStats:
    token_issuances: Counter[str] = field(default_factory=Counter)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)  # (api_id, return_code)
    limit_refusals: Counter[tuple[str, int]] = field(default_factory=Counter)  # (api_id, 1700 or 1701)
    # (api_id, time.monotonic()) of the latest answers with return_code 0
    served_times: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=SERVED_TIMES_KEPT))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, api_id: str, return_code: int) -> None:
        with self._lock:
            self.answers[(api_id, return_code)] += 1
            if return_code == 0:
                self.served_times.append((api_id, time.monotonic()))

    def record_limit_refusal(self, api_id: str, limit_code: int) -> None:
        with self._lock:
            self.limit_refusals[(api_id, limit_code)] += 1

    def served_at(self, api_id: str | None = None) -> list[float]:
        """When the answers with return_code 0 (of `api_id`, or of every TR) were served, oldest first."""
        with self._lock:
            return [at for served, at in self.served_times if api_id in (None, served)]

    def served(self, api_id: str | None = None) -> int:
        with self._lock:
            return sum(n for (a, code), n in self.answers.items() if code == 0 and api_id in (None, a))


class _Tokens:
    def __init__(self, ttl: float, reissue_same: bool) -> None:
        self.ttl, self.reissue_same = ttl, reissue_same
        self._lock = threading.Lock()
        self._owner: dict[str, tuple[str, float]] = {}  # token -> (app key, expiry monotonic)
        self._current: dict[str, str] = {}

    def issue(self, app_key: str) -> tuple[str, float]:
        now = time.monotonic()
        with self._lock:
            current = self._current.get(app_key)
            if self.reissue_same and current and self._owner[current][1] > now:
                return current, self._owner[current][1] - now
            token = secrets.token_urlsafe(48)
            self._owner[token] = (app_key, now + self.ttl)
            self._current[app_key] = token
            return token, self.ttl

    def owner(self, token: str) -> str | None:
        with self._lock:
            found = self._owner.get(token)
        return found[0] if found and found[1] > time.monotonic() else None

    def expire(self, token: str | None = None) -> None:
        with self._lock:
            for value, (key, _) in list(self._owner.items()):
                if token in (None, value):
                    self._owner[value] = (key, 0.0)


class KiwoomSimulatorApp:
    def __init__(self, model: MarketModel, settings: KiwoomSimSettings) -> None:
        self.model = model
        self.settings = settings
        self.stats = KiwoomSimStats()
        self.tokens = _Tokens(settings.token_ttl_seconds, settings.reissue_same_token)
        self.tr_limiter = SlidingWindowLimiter(max(1, int(settings.rate_limit_per_sec)))
        total = settings.total_rate_limit_per_sec
        self.total_limiter = None if total is None else SlidingWindowLimiter(int(total))
        self.down = False
        self._random = random.Random(settings.fault_seed)
        self._random_lock = threading.Lock()
        self._handlers = {api_id: service.handler for api_id, service in SERVICES.items()}
        self._handlers["ka90013"] = partial(program_daily, fill_both=settings.program_fills_both)
        self._handlers["ka90004"] = partial(program_all_stocks, most_traded=settings.program_list_most_traded)
        self.asgi = Starlette(
            routes=[
                Route("/oauth2/token", self.token, methods=["POST"]),
                Route("/api/dostk/{name}", self.tr, methods=["POST"]),
            ]
        )

    @staticmethod
    def _answer(
        body: dict[str, object], status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            json.dumps(body, ensure_ascii=False).encode(),
            status,
            headers=headers,
            media_type="application/json;charset=UTF-8",
        )

    async def token(self, request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = {}
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return self._answer({"return_code": 8012, "return_msg": "grant_type의 값이 맞지 않습니다"})
        app_key, secret = str(body.get("appkey") or ""), str(body.get("secretkey") or "")
        if not app_key or not secret:
            return self._answer(
                {
                    "return_code": 8020,
                    "return_msg": "입력파라미터로 appkey 또는 secretkey가 들어오지 않았습니다.",
                }
            )
        allowed = self.settings.allowed_keys
        if allowed is not None and allowed.get(app_key) != secret:
            return self._answer(
                {"return_code": 8001, "return_msg": "App Key와 Secret Key 검증에 실패했습니다"}
            )
        token, remaining = self.tokens.issue(app_key)
        self.stats.token_issuances[hashlib.sha256(app_key.encode()).hexdigest()[:12]] += 1
        expires = datetime.now(KST).replace(tzinfo=None) + timedelta(seconds=remaining)
        return self._answer(
            {"expires_dt": expires.strftime("%Y%m%d%H%M%S"), "token_type": "bearer", "token": token, **OK}
        )

    def _fault(self) -> str | None:
        with self._random_lock:
            for kind, rate in self.settings.fault_rates.items():
                if self._random.random() < rate:
                    return kind
        return None

    async def tr(self, request: Request) -> Response:
        api_id = request.headers.get("api-id", "")
        try:
            response = await self._serve(request, api_id)
        except KiwoomSimError as error:
            self.stats.record(api_id, error.return_code)
            return self._answer(
                {"return_code": error.return_code, "return_msg": error.return_msg}, error.http_status
            )
        return response

    async def _serve(self, request: Request, api_id: str) -> Response:
        if self.down:
            self.stats.record(api_id, -503)
            return Response(b"Service Unavailable", 503)
        if not api_id:
            raise KiwoomSimError(1501, "API ID가 Null이거나 값이 없습니다")
        service = SERVICES.get(api_id)
        if service is None:
            raise KiwoomSimError(1505, f"해당 API ID는 존재하지 않습니다. API ID={api_id}")
        if service.path != request.url.path:
            raise KiwoomSimError(
                1504, f"해당 URI에서는 지원하는 API ID가 아닙니다. API ID={api_id}, URI={request.url.path}"
            )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not token:
            raise KiwoomSimError(1513, "Http Header에 authorization 필드가 설정되어 있어야 합니다")
        owner = self.tokens.owner(token.strip()) if scheme.lower() == "bearer" else None
        self._admit(owner or token, api_id)
        if owner is None:
            raise KiwoomSimError(8005, "Token이 유효하지 않습니다", self.settings.invalid_token_status)
        fault = self._fault()
        if fault == "rate_limited":
            raise self._over_tr_limit(api_id)
        if fault == "batch_limit":
            raise KiwoomSimError(5, "허용된 요청 개수를 초과하였습니다[1634]")
        if fault == "http5xx":
            self.stats.record(api_id, -500)
            return Response(b"Internal Server Error", 500)
        if fault == "invalid_token":
            self.tokens.expire(token.strip())
            raise KiwoomSimError(8005, "Token이 유효하지 않습니다", self.settings.invalid_token_status)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise bad_input("body", "not JSON") from None
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise bad_input("body", "an object of strings")
        for name in service.required:
            if not body.get(name):
                raise missing(name)
        reply = self._handlers[api_id](self.model, body)
        digest = hashlib.sha256(json.dumps([api_id, sorted(body.items())]).encode()).hexdigest()[:16]
        start = self._offset(request, digest)
        page = reply.rows[start : start + self.settings.page_size]
        more = start + self.settings.page_size < len(reply.rows)
        headers = {
            "api-id": api_id,
            "cont-yn": "Y" if more else "N",
            "next-key": f"{digest}:{start + len(page)}" if more else "",
        }
        self.stats.record(api_id, 0)
        return self._answer({**reply.head, reply.list_key: page, **OK}, 200, headers)

    def _admit(self, caller: str, api_id: str) -> None:
        """Counts the request against its bucket, then the caller's total; raises the refusal of the first
        limit it exceeds (a refused request counts against neither)."""
        now = time.monotonic()
        bucket = caller if self.settings.rate_limit_scope == "per_key" else f"{caller}/{api_id}"
        if not self.tr_limiter.admit(bucket, now):
            raise self._over_tr_limit(api_id)
        if self.total_limiter is not None and not self.total_limiter.admit(caller, now):
            self.tr_limiter.withdraw(bucket)
            raise self._over_limit(
                api_id,
                TOTAL_LIMIT,
                f"허용된 전체 요청 개수를 초과하였습니다. 총유량={self.total_limiter.limit}",
            )

    def _over_tr_limit(self, api_id: str) -> KiwoomSimError:
        return self._over_limit(
            api_id,
            TR_LIMIT,
            f"허용된 API 요청 개수를 초과하였습니다. 유량={self.tr_limiter.limit}, API ID={api_id}",
        )

    def _over_limit(self, api_id: str, limit_code: int, detail: str) -> KiwoomSimError:
        """The answer over a request limit, in the form of Kiwoom's [1700]/[1701] texts (recorded)."""
        self.stats.record_limit_refusal(api_id, limit_code)
        return KiwoomSimError(
            5, f"허용된 요청 개수를 초과하였습니다[{limit_code}:{detail}]", self.settings.rate_limit_status
        )

    @staticmethod
    def _offset(request: Request, digest: str) -> int:
        if request.headers.get("cont-yn") != "Y":
            return 0
        owner, _, offset = request.headers.get("next-key", "").partition(":")
        if owner != digest or not offset.isdigit():
            raise bad_input("next-key", "not a cursor of this request")
        return int(offset)
