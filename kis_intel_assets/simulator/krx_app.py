"""The KRX data-portal Starlette app: login with a session cookie, the JSON answers of the bld codes the
client uses, "LOGOUT" without a live session, duplicate login, a block after too many requests, and the
publication gates on the simulator's clock — all over the simulator's MarketModel (krx_market.py).

Simulator decisions where the sources stop (docs/krx_portal.md), each a setting so the client is tested
under every variant:
- Sessions: GET the login page issues JSESSIONID. A login answers CD001; a wrong id or password answers
  CD002 (the portal's code for it is not in the sources); an account in `password_change_accounts`
  answers CD010 (password change required, as pykrx handles it); a login while the account has another live
  session answers CD011 unless the form has skipDup=Y, which ends the other session. A session lasts
  `session_seconds` (3,600) of real time from its login. A data request without a live session answers
  HTTP `logout_status` (400; one report says 404) with the body "LOGOUT".
- Block: more than `block_after_requests` requests (of any kind) from one client address within
  `block_window_seconds` block that address for the rest of the simulated day; every answer meanwhile is
  the portal's block notice, as HTTP 403 (`block_form` "403_page") or 200 ("200_page").
- Publication on the simulated clock: investor tables for T are final from `investor_final_after` (16:00)
  on T; before that `investor_before` "empty" serves no rows, "partial" the session so far (volumes and
  values scaled by the elapsed share of the session). Short balance for T is served from
  `balance_visible_from` (08:00) on the `balance_lag_trading_days`-th (3rd) trading day after T;
  before that no rows. A non-trading day or a future day has no rows.
- `zero_rows` "include" lists every stock in each investor table, "omit" only the stocks the type traded.
  Tables are sorted by NETBID_TRDVAL descending, as the portal ranks them.
- Bad or missing parameters: HTTP 400 with an empty body; unknown bld: HTTP 400.
- `corruption` (tests) makes the first row of one bld's answers carry a malformed or missing field.
"""

from __future__ import annotations

import secrets
import threading
import time as _time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kis_intel_assets import krx_calendar
from kis_intel_assets.krx import portal
from kis_intel_assets.krx.publication import trading_days_after
from kis_intel_assets.markets import common_stock_isin
from kis_intel_assets.simulator.clock import session_fraction
from kis_intel_assets.simulator.krx_market import Balance, KRXMarket, PlantedMismatch
from kis_intel_assets.simulator.model import MarketModel

DEFAULT_ACCOUNTS = {"krx-sim-user": "krx-sim-password"}
BLOCK_FORMS = ("403_page", "200_page")
INVESTOR_BEFORE_FORMS = ("empty", "partial")
ZERO_ROW_FORMS = ("include", "omit")
BLOCK_PAGE = (
    "<html><head><title>에러페이지 - 한국거래소</title></head><body>"
    "자동화 수단을 통한 비정상 대량 조회가 감지되어 해당 IP의 접속이 일시적으로 제한되었습니다."
    "</body></html>"
)


@dataclass(frozen=True)
class KRXSimSettings:
    accounts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))
    password_change_accounts: frozenset[str] = frozenset()  # their logins answer CD010
    session_seconds: float = 3600.0
    logout_status: int = 400
    block_after_requests: int = 300
    block_window_seconds: float = 60.0
    block_form: str = "403_page"
    investor_final_after: time = time(16, 0)
    investor_before: str = "empty"
    balance_visible_from: time = time(8, 0)
    balance_lag_trading_days: int = 3
    zero_rows: str = "include"
    state_in_pension_fund: bool = False
    value_residuals: bool = True
    planted_mismatch: PlantedMismatch | None = None

    def __post_init__(self) -> None:
        for name, value, options in (
            ("block_form", self.block_form, BLOCK_FORMS),
            ("investor_before", self.investor_before, INVESTOR_BEFORE_FORMS),
            ("zero_rows", self.zero_rows, ZERO_ROW_FORMS),
            ("logout_status", self.logout_status, (400, 404)),
        ):
            if value not in options:
                raise ValueError(f"{name} must be one of {options}, got {value!r}")
        if self.block_after_requests < 1 or self.block_window_seconds <= 0 or self.session_seconds <= 0:
            raise ValueError(
                "block_after_requests, block_window_seconds and session_seconds must be positive"
            )


@dataclass
class KRXSimStats:
    answers: Counter[str] = field(default_factory=Counter)  # "login:CD001", "bld:<bld>", "logout", "blocked"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, kind: str) -> None:
        with self._lock:
            self.answers[kind] += 1

    def served(self, bld: str | None = None) -> int:
        """Data answers served (all blds, or one)."""
        with self._lock:
            return sum(n for k, n in self.answers.items() if k.startswith("bld:") and bld in (None, k[4:]))

    def total(self) -> int:
        """Every request the portal received, whatever it answered."""
        with self._lock:
            return self.answers["request"]


@dataclass(frozen=True)
class Corruption:
    """A malformed answer for tests: the first row of `bld` gets `value` in `field` (None removes it)."""

    bld: str
    field: str
    value: str | None

    def apply(self, body: dict[str, list[dict[str, str]]]) -> None:
        rows = next(iter(body.values()))
        if rows:
            if self.value is None:
                rows[0].pop(self.field, None)
            else:
                rows[0][self.field] = self.value


@dataclass
class _Session:
    account: str | None = None
    logged_in_at: float = 0.0


class KRXSimulatorApp:
    def __init__(self, model: MarketModel, settings: KRXSimSettings) -> None:
        self.model = model
        self.settings = settings
        self.market = KRXMarket(
            model,
            state_in_pension_fund=settings.state_in_pension_fund,
            value_residuals=settings.value_residuals,
        )
        self.market.planted = settings.planted_mismatch
        self.stats = KRXSimStats()
        self.corruption: Corruption | None = None
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._current: dict[str, str] = {}  # account -> its live session id
        self._arrivals: dict[str, deque[float]] = {}
        self._blocked: dict[str, date] = {}  # client address -> last simulated day of its block
        self.asgi = Starlette(
            routes=[
                Route(portal.LOGIN_PAGE_PATH, self.login_page, methods=["GET"]),
                Route(portal.LOGIN_JSP_PATH, self.login_page, methods=["GET"]),
                Route(portal.LOGIN_PATH, self.login, methods=["POST"]),
                Route(portal.JSON_PATH, self.json_data, methods=["POST"]),
            ]
        )

    # -- sessions and blocks ----------------------------------------------------------------------------
    def _admit(self, request: Request) -> Response | None:
        """Counts the request against its address; the block answer when that address is blocked."""
        self.stats.record("request")
        address = request.client.host if request.client else "-"
        today = self.model.now_kst().date()
        now = _time.monotonic()
        with self._lock:
            arrivals = self._arrivals.setdefault(address, deque())
            arrivals.append(now)
            while arrivals and arrivals[0] <= now - self.settings.block_window_seconds:
                arrivals.popleft()
            blocked_until = self._blocked.get(address)
            if blocked_until is None or blocked_until < today:
                self._blocked.pop(address, None)
                if len(arrivals) <= self.settings.block_after_requests:
                    return None
            self._blocked[address] = today  # a request during the block keeps it for the whole day
        self.stats.record("blocked")
        status = 403 if self.settings.block_form == "403_page" else 200
        return Response(BLOCK_PAGE, status, media_type="text/html; charset=utf-8")

    def block(self, address: str = "127.0.0.1") -> None:
        with self._lock:
            self._blocked[address] = self.model.now_kst().date()

    def unblock(self) -> None:
        with self._lock:
            self._blocked.clear()
            self._arrivals.clear()

    def expire_sessions(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.logged_in_at = -self.settings.session_seconds

    def login_elsewhere(self, account: str) -> None:
        """Another browser logs in with skipDup=Y: the account's current session ends."""
        with self._lock:
            sid = _new_session_id()
            self._sessions[sid] = _Session(account, _time.monotonic())
            self._current[account] = sid

    def _live(self, sid: str | None) -> bool:
        session = self._sessions.get(sid or "")
        return (
            session is not None
            and session.account is not None
            and self._current.get(session.account) == sid
            and _time.monotonic() - session.logged_in_at < self.settings.session_seconds
        )

    async def login_page(self, request: Request) -> Response:
        blocked = self._admit(request)
        if blocked is not None:
            return blocked
        response = Response("<html><body>login</body></html>", media_type="text/html; charset=utf-8")
        if request.cookies.get(portal.SESSION_COOKIE) not in self._sessions:
            sid = _new_session_id()
            with self._lock:
                self._sessions[sid] = _Session()
            _set_session_cookie(response, sid)
        return response

    async def login(self, request: Request) -> Response:
        blocked = self._admit(request)
        if blocked is not None:
            return blocked
        form = await _form(request)
        account, password = str(form.get("mbrId") or ""), str(form.get("pw") or "")
        sid = request.cookies.get(portal.SESSION_COOKIE) or ""
        new_cookie = sid not in self._sessions
        if new_cookie:
            sid = _new_session_id()
        with self._lock:
            session = self._sessions.setdefault(sid, _Session())
            if self.settings.accounts.get(account) != password or not account:
                code, message = "CD002", "아이디 또는 비밀번호가 일치하지 않습니다."
            elif account in self.settings.password_change_accounts:
                code, message = portal.LOGIN_PASSWORD_CHANGE, "비밀번호를 변경해 주세요."
            else:
                other = self._current.get(account)
                if other not in (None, sid) and self._live(other) and form.get(portal.SKIP_DUPLICATE) != "Y":
                    code, message = portal.LOGIN_DUPLICATE, "중복 로그인이 감지되었습니다."
                else:
                    session.account, session.logged_in_at = account, _time.monotonic()
                    self._current[account] = sid
                    code, message = portal.LOGIN_OK, "정상"
        self.stats.record(f"login:{code}")
        response = JSONResponse({"_error_code": code, "_error_message": message})
        if new_cookie:
            _set_session_cookie(response, sid)
        return response

    # -- data ---------------------------------------------------------------------------------------------
    async def json_data(self, request: Request) -> Response:
        blocked = self._admit(request)
        if blocked is not None:
            return blocked
        with self._lock:
            live = self._live(request.cookies.get(portal.SESSION_COOKIE))
        if not live:
            self.stats.record("logout")
            return Response(portal.LOGGED_OUT_BODY, self.settings.logout_status, media_type="text/html")
        form = await _form(request)
        bld = form.get("bld", "")
        try:
            if bld == portal.INVESTOR_BLD:
                body = {portal.INVESTOR_ROWS: self._investor_rows(form)}
            elif bld == portal.BALANCE_BLD:
                body = {portal.BALANCE_ROWS: self._balance_rows(form)}
            elif bld == portal.BALANCE_ONE_BLD:
                body = {portal.BALANCE_ROWS: self._balance_history_rows(form)}
            else:
                raise _BadRequest
        except _BadRequest:
            self.stats.record("bad_request")
            return Response(b"", 400)
        self.stats.record(f"bld:{bld}")
        if self.corruption is not None and self.corruption.bld == bld:
            self.corruption.apply(body)
        now = self.model.now_kst().strftime("%Y.%m.%d %p %I:%M:%S")
        return JSONResponse({**body, portal.CURRENT_DATETIME: now})

    def _trading_day(self, day: date) -> bool:
        return day <= self.model.now_kst().date() and krx_calendar.is_trading_day(day)

    def _investor_rows(self, form: Mapping[str, str]) -> list[dict[str, str]]:
        start, end = _day(form, "strtDd"), _day(form, "endDd")
        market = _market(form, "mktId", portal.INVESTOR_MARKETS)
        code = form.get("invstTpCd", "")
        if code not in portal.INVESTOR_TYPES or start != end:
            raise _BadRequest  # one day per request is all the simulator serves
        if not self._trading_day(start):
            return []
        now = self.model.now_kst()
        scale = 1.0
        if start == now.date() and now.time() < self.settings.investor_final_after:
            if self.settings.investor_before == "empty":
                return []
            scale = session_fraction(now.time())
        ranked = []
        for symbol, (buy, sell, buy_value, sell_value) in self.market.served_flows(
            market, start, code
        ).items():
            buy, sell = int(buy * scale), int(sell * scale)
            buy_value, sell_value = int(buy_value * scale), int(sell_value * scale)
            if self.settings.zero_rows == "omit" and buy == sell == 0:
                continue
            row = {
                portal.SYMBOL_FIELD: symbol,
                portal.NAME_FIELD: self.market.name(symbol),
                portal.SELL_VOLUME: f"{sell:,}",
                portal.BUY_VOLUME: f"{buy:,}",
                portal.NET_VOLUME: f"{buy - sell:,}",
                portal.SELL_VALUE: f"{sell_value:,}",
                portal.BUY_VALUE: f"{buy_value:,}",
                portal.NET_VALUE: f"{buy_value - sell_value:,}",
            }
            ranked.append((buy_value - sell_value, row))
        ranked.sort(key=lambda item: -item[0])
        return [row for _, row in ranked]

    def _balance_visible(self, day: date) -> bool:
        visible = trading_days_after(day, self.settings.balance_lag_trading_days)
        return self.model.now_kst() >= datetime.combine(
            visible, self.settings.balance_visible_from, self.model.now_kst().tzinfo
        )

    def _balance_rows(self, form: Mapping[str, str]) -> list[dict[str, str]]:
        day = _day(form, "trdDd")
        market = _market(form, "mktTpCd", portal.BALANCE_MARKETS)
        if not self._trading_day(day) or not self._balance_visible(day):
            return []
        rows = []
        for symbol in sorted(self.market.symbols(market), key=self.market.name):
            found = self.market.balance_on(symbol, day)
            if found is not None:
                rows.append(
                    {portal.BALANCE_SYMBOL: symbol, portal.BALANCE_NAME: self.market.name(symbol)}
                    | _balance_fields(*found)
                )
        return rows

    def _balance_history_rows(self, form: Mapping[str, str]) -> list[dict[str, str]]:
        start, end = _day(form, "strtDd"), _day(form, "endDd")
        isin = form.get("isuCd", "")
        symbol = next((s for s in self.model.symbols() if common_stock_isin(s) == isin), None)
        if symbol is None or end < start:
            return []
        rows = []
        for day in reversed(krx_calendar.trading_days(start, min(end, self.model.now_kst().date()))):
            found = self.market.balance_on(symbol, day)
            if found is not None and self._balance_visible(day):
                rows.append({portal.BALANCE_DAY: day.strftime("%Y/%m/%d")} | _balance_fields(*found))
        return rows


def _new_session_id() -> str:
    return secrets.token_urlsafe(24)


def _set_session_cookie(response: Response, sid: str) -> None:
    """The portal's session cookie, as a browser keeps it for every path of the site."""
    response.set_cookie(portal.SESSION_COOKIE, sid, path="/", httponly=True)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form body (the portal's POSTs are application/x-www-form-urlencoded)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


class _BadRequest(Exception):
    pass


def _day(form: Mapping[str, str], name: str) -> date:
    try:
        return datetime.strptime(form.get(name, ""), "%Y%m%d").date()
    except ValueError:
        raise _BadRequest from None


def _market(form: Mapping[str, str], name: str, codes: Mapping[str, str]) -> str:
    market = next((m for m, code in codes.items() if code == form.get(name)), None)
    if market is None:
        raise _BadRequest
    return market


def _balance_fields(balance: Balance, k: int) -> dict[str, str]:
    return {
        portal.BALANCE_QTY: f"{int(balance.quantity[k]):,}",
        portal.LISTED_SHARES: f"{balance.listed:,}",
        portal.BALANCE_AMOUNT: f"{int(balance.amount[k]):,}",
        portal.MARKET_CAP: f"{int(balance.market_cap[k]):,}",
        portal.BALANCE_RATIO: f"{balance.ratio(k):.2f}",
    }
