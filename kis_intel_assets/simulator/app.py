"""The Starlette application: token endpoint, quotation endpoints, master files; request log and faults."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from kis_intel_assets.simulator import (  # the handler modules register their TR IDs on import
    errors,
    fault_effects,
    handlers_calendar,  # noqa: F401
    handlers_flows,  # noqa: F401
    handlers_index,  # noqa: F401
    handlers_lending,  # noqa: F401
    handlers_program,  # noqa: F401
    handlers_quotes,  # noqa: F401
    handlers_stock,  # noqa: F401
    paging,
)
from kis_intel_assets.simulator.clock import KST
from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.documented import DOCUMENTED
from kis_intel_assets.simulator.errors import KisError
from kis_intel_assets.simulator.faults import FaultInjector, FaultSpec
from kis_intel_assets.simulator.handlers_base import REGISTRY, Query, Reply
from kis_intel_assets.simulator.masters import MASTER_FILES, master_zip
from kis_intel_assets.simulator.model import MarketModel
from kis_intel_assets.simulator.overheat import OverheatDifference
from kis_intel_assets.simulator.scope import rescope
from kis_intel_assets.simulator.stats import RequestRecord, SimulatorStats, fingerprint
from kis_intel_assets.simulator.tokens import (
    SlidingWindowLimiter,
    TokenState,
    TokenStore,
    TokenThrottledError,
)
from kis_intel_assets.simulator.wire import KisWire

QUOTATION_PREFIX = "/uapi/domestic-stock/v1/"
REQUIRED_HEADERS = ("authorization", "appkey", "appsecret", "tr_id")
OK = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}
MAX_CURSORS = 10_000
# A paging cursor only advances when the client received a usable page; after any other fault a retry with
# tr_cont "N" gets the same page again.
CURSOR_SAFE_FAULTS = (None, "latency", "token_expiry")
DropConnection = Callable[[Scope], None]
# A master file is rebuilt when its market, the simulated day or the planted differences change.
_MasterKey = tuple[str, np.datetime64, np.datetime64, tuple[OverheatDifference, ...]]
SYMBOL_PARAMS = {"CTPF1002R": "PDNO", "HHPST074500C0": "MKSC_SHRN_ISCD"}  # else FID_INPUT_ISCD


class SimulatorApp:
    def __init__(
        self,
        config: SimulatorConfig,
        model: MarketModel,
        stats: SimulatorStats,
        drop_connection: DropConnection,
    ) -> None:
        self.config = config
        self.model = model
        self.stats = stats
        self.tokens = TokenStore(
            config.token_ttl_seconds, config.token_min_interval_seconds, config.token_reuse_seconds
        )
        self.limiter = SlidingWindowLimiter(
            config.requests_per_window,
            new_key_limit=config.new_key_requests_per_window,
            new_keys=config.new_keys,
        )
        self.injector: FaultInjector | None = FaultInjector(config.faults) if config.faults else None
        self._cursors: OrderedDict[tuple, int] = OrderedDict()
        self._drop = drop_connection
        self._masters: dict[_MasterKey, bytes] = {}
        self.asgi = KisWire(
            Starlette(
                routes=[
                    Route("/oauth2/tokenP", self.token, methods=["POST"]),
                    Route(QUOTATION_PREFIX + "{name:path}", self.quotation, methods=["GET"]),
                    Route("/common/master/{file}", self.master, methods=["GET"]),
                ]
            )
        )

    def set_faults(self, spec: FaultSpec | None) -> None:
        self.injector = FaultInjector(spec) if spec and spec.rules else None

    # -- token -----------------------------------------------------------------------------------------
    def _key_allowed(self, app_key: str, app_secret: str) -> bool:
        allowed = self.config.allowed_keys
        if allowed is None:
            return True
        if isinstance(allowed, dict):
            return allowed.get(app_key) == app_secret
        return app_key in allowed

    async def token(self, request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error_code": "EGW00002", "error_description": "grant_type must be client_credentials"}, 403
            )
        app_key, app_secret = str(body.get("appkey") or ""), str(body.get("appsecret") or "")
        if not app_key or not app_secret or not self._key_allowed(app_key, app_secret):
            return JSONResponse(
                {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}, 403
            )
        try:
            token, remaining = self.tokens.issue(app_key)
        except TokenThrottledError:
            self.stats.record_token(app_key, issued=False)
            return JSONResponse(
                {
                    "error_code": "EGW00133",
                    "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                },
                403,
            )
        self.stats.record_token(app_key, issued=True)
        expires = datetime.now(KST) + timedelta(seconds=remaining)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(remaining),
                "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )

    # -- masters ---------------------------------------------------------------------------------------
    async def master(self, request: Request) -> Response:
        market = MASTER_FILES.get(request.path_params["file"])
        if market is None:
            return Response(b"not found", 404)
        # The listed universe and the 공매도 과열 flags follow the clock (and the planted differences).
        key: _MasterKey = (
            market,
            self.model.latest_day(),
            self.model.master_day(),
            self.model.overheat_differences,
        )
        if key not in self._masters:
            # The first file of a market computes the official 공매도 과열 list over every simulated
            # stock-day (seconds at 2,500 stocks): off the event loop, so other requests go on.
            self._masters[key] = await asyncio.to_thread(master_zip, self.model, market)
        # Date from the simulated clock: it tells a client which trading day the files describe.
        date = format_datetime(self.model.now_kst().astimezone(UTC), usegmt=True)
        return Response(self._masters[key], media_type="application/zip", headers={"date": date})

    # -- quotations ------------------------------------------------------------------------------------
    async def quotation(self, request: Request) -> Response:
        arrival = time.monotonic()
        headers = request.headers
        tr_id = headers.get("tr_id", "")
        app_key = headers.get("appkey", "")
        # RequestRecord's fields, filled in as the request goes on; RequestRecord(**record) checks them.
        record: dict[str, Any] = {
            "arrival": arrival,
            "key": fingerprint(app_key),
            "tr_id": tr_id,
            "path": request.url.path,
        }
        try:
            response = await self._answer(request, tr_id, app_key, record)
        except KisError as error:
            response = self._json(error.body(), error.http_status, tr_id, "")
            record["msg_cd"] = error.msg_cd
        record.setdefault("msg_cd", "")
        status = 0 if record.get("fault") == "drop" else response.status_code
        self.stats.record(RequestRecord(status=status, **record))
        return response

    async def _answer(self, request: Request, tr_id: str, app_key: str, record: dict[str, Any]) -> Response:
        headers = request.headers
        for name in REQUIRED_HEADERS:
            if not headers.get(name):
                raise errors.missing_header(name)
        service = REGISTRY.get(tr_id)
        name = request.path_params["name"]
        if service is None:
            raise errors.unknown_service(f"tr_id {tr_id!r}")
        if service.path != name:
            raise errors.unknown_service(f"tr_id {tr_id} is not served at {name!r}")
        if not self.limiter.admit(app_key, record["arrival"]):
            raise errors.rate_limited(int(self.config.rate_limit_style))
        scheme, _, token = headers["authorization"].partition(" ")
        state = (
            self.tokens.check(token.strip(), app_key) if scheme.lower() == "bearer" else TokenState.INVALID
        )
        if state is TokenState.EXPIRED:
            raise errors.token_expired(self.config.expired_token_http_status)
        if state is TokenState.INVALID:
            raise errors.token_invalid()
        if self.config.paper and service.real_only:
            raise errors.paper_refused(tr_id)
        query = Query(request.query_params)
        symbol = query.text(SYMBOL_PARAMS.get(tr_id, "FID_INPUT_ISCD"), "") or None
        record["symbol"] = symbol
        rule = self.injector.draw(tr_id, symbol) if self.injector else None
        fault = rule.kind if rule else None
        record["fault"] = fault
        if fault is not None:
            replaced = await self._pre_fault(fault, request)
            if replaced is not None:
                record["msg_cd"] = "EGW00201" if fault.startswith("egw") else ""
                return replaced
        reply = service.handler(self.model, query)
        style = paging.style_of(tr_id, self.config.paging_style)
        cursor_key = (token, tr_id, query.normalised())
        follow_up = reply.paged and style == "tr_cont" and headers.get("tr_cont") == "N"
        start = self._cursors.get(cursor_key, 0) if follow_up else 0
        body, page, more = self._page(reply, start, self.config.rows_per_call(tr_id), style)
        conform(body, DOCUMENTED.get(tr_id, {}))
        rescope(body, query.text("FID_COND_MRKT_DIV_CODE", "J"))
        response_tr_cont = "M" if more else "D"
        if fault == "token_expiry":
            self.tokens.expire(app_key)
        if rule is not None and rule.kind in ("bad_field", "bad_number"):
            assert self.injector is not None  # it drew the rule
            record["fault_detail"] = fault_effects.corrupt(self.injector, rule, body)
        payload = json.dumps(body, ensure_ascii=False).encode()
        if fault == "malformed":
            payload = fault_effects.malformed(payload)
        elif fault == "truncated":
            payload = fault_effects.truncated(payload)
        elif reply.paged and fault in CURSOR_SAFE_FAULTS:
            self._advance(cursor_key, start + len(page) if more else None)
        record.update(
            msg_cd=OK["msg_cd"],
            rows=len(page),
            tr_cont=response_tr_cont,
            **_day_span(body.get(reply.list_key or "", [])),
        )
        return Response(
            payload,
            200,
            headers=self._headers(tr_id, response_tr_cont),
            media_type="application/json; charset=utf-8",
        )

    async def _pre_fault(self, fault: str, request: Request) -> Response | None:
        assert self.injector is not None
        if fault == "latency":
            await asyncio.sleep(self.injector.spec.latency_seconds)
        elif fault == "timeout":
            await asyncio.sleep(self.injector.spec.timeout_seconds)
        elif fault == "drop":
            self._drop(request.scope)
            await asyncio.sleep(0.01)  # let the transport report the loss so nothing more is written
            return Response(b"", 500)
        return fault_effects.error_response(self.injector, fault)

    @staticmethod
    def _page(reply: Reply, start: int, size: int, style: str) -> tuple[dict[str, object], list[int], bool]:
        items = list(reply.items)
        if reply.paged:
            page = items[start : start + size]
            more = style in ("tr_cont", "repeat") and start + size < len(items)
        else:
            page, more = items, False
        body: dict[str, object] = {**OK, **reply.head}
        if reply.list_key is not None and reply.encode is not None:
            body[reply.list_key] = reply.encode(page)
        return body, page, more

    def _advance(self, key: tuple, next_start: int | None) -> None:
        if next_start is None:
            self._cursors.pop(key, None)
            return
        self._cursors[key] = next_start
        self._cursors.move_to_end(key)
        while len(self._cursors) > MAX_CURSORS:
            self._cursors.popitem(last=False)

    def _headers(self, tr_id: str, tr_cont: str) -> dict[str, str]:
        # Date follows the simulated clock: it is how a client learns KIS's "now" (publication times).
        date = format_datetime(self.model.now_kst().astimezone(UTC), usegmt=True)
        return {"tr_id": tr_id, "tr_cont": tr_cont, "gt_uid": uuid.uuid4().hex, "date": date}

    def _json(self, body: dict[str, str], status: int, tr_id: str, tr_cont: str) -> Response:
        return Response(
            json.dumps(body, ensure_ascii=False).encode(),
            status,
            headers=self._headers(tr_id, tr_cont),
            media_type="application/json; charset=utf-8",
        )


def conform(body: dict[str, object], documented: Mapping[str, tuple[str, ...]]) -> None:
    """Every row of each documented output carries exactly the documented names ("" where unmodelled)."""
    for key, names in documented.items():
        value = body.get(key)
        if isinstance(value, list):
            body[key] = [{name: row.get(name, "") for name in names} for row in value]
        elif isinstance(value, dict):
            body[key] = {name: value.get(name, "") for name in names}


def _day_span(rows: object) -> dict[str, str | None]:
    days = (
        [d for r in rows if isinstance(r, dict) and (d := r.get("stck_bsop_date") or r.get("bsop_date"))]
        if isinstance(rows, list)
        else []
    )
    return {"first_day": min(days), "last_day": max(days)} if days else {}
