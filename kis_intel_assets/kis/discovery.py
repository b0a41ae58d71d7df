"""What `kis-intel discover` finds out: call every registered endpoint once, record what the responses look
like, and compare that with what the client relies on (the command itself is discover_cli.py).

Breaking drift (exit status 1) is anything that would make ingestion fail: a registered field missing
or no longer parseable as its registered kind, the rows output missing or a list turned into an object,
an endpoint that answers with an error, or a master file that no longer parses. New fields and fields
that left the baseline are reported but do not fail the command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from kis_intel_assets.kis.client import MARKET_CODES, KISClient
from kis_intel_assets.kis.endpoints import ENDPOINTS, Endpoint
from kis_intel_assets.kis.errors import KISError
from kis_intel_assets.kis.masters import COMMON_STOCK, MASTER_FILES, parse_master
from kis_intel_assets.kis.parsing import extract_rows, is_unpublished, parse_value
from kis_intel_assets.kis.schema import response_schema
from kis_intel_assets.kis.session import MORE_PAGES, KISSession, Page
from kis_intel_assets.krx_calendar import is_trading_day

KST = dt.timezone(dt.timedelta(hours=9))
RANGE_DAYS = 30  # ranged endpoints are asked for about a month, so lists have rows to type
KOSPI = MARKET_CODES["KOSPI"]
Params = Callable[[str, dt.date], dict[str, str]]


def _ymd(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def _month_to(day: dt.date) -> dict[str, str]:
    return {"FID_INPUT_DATE_1": _ymd(day - dt.timedelta(days=RANGE_DAYS)), "FID_INPUT_DATE_2": _ymd(day)}


SAMPLE_PARAMS: Mapping[str, Params] = {
    "FHKST01010900": lambda symbol, day: {"FID_INPUT_ISCD": symbol},
    "FHPTJ04160001": lambda symbol, day: {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _ymd(day)},
    "FHPTJ04400000": lambda symbol, day: {},
    "FHPTJ04040000": lambda symbol, day: {
        "FID_INPUT_ISCD": KOSPI.index_code,
        "FID_INPUT_DATE_1": _ymd(day),
        "FID_INPUT_ISCD_1": KOSPI.investor_code,
        "FID_INPUT_DATE_2": _ymd(day),
        "FID_INPUT_ISCD_2": KOSPI.index_code,
    },
    "FHPST04830000": lambda symbol, day: {**_month_to(day), "FID_INPUT_ISCD": symbol},
    "FHPPG04650101": lambda symbol, day: {"FID_INPUT_ISCD": symbol},
    "FHPPG04650201": lambda symbol, day: {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _ymd(day)},
    "FHPPG04600001": lambda symbol, day: {**_month_to(day), "FID_MRKT_CLS_CODE": KOSPI.program_code},
    "FHKST01010100": lambda symbol, day: {"FID_INPUT_ISCD": symbol},
    "FHKST03010100": lambda symbol, day: {**_month_to(day), "FID_INPUT_ISCD": symbol},
    "CTPF1002R": lambda symbol, day: {"PDNO": symbol},
    "FHPUP02120000": lambda symbol, day: {"FID_INPUT_ISCD": KOSPI.index_code, "FID_INPUT_DATE_1": _ymd(day)},
    "FHKUP03500100": lambda symbol, day: {**_month_to(day), "FID_INPUT_ISCD": KOSPI.index_code},
    "CTCA0903R": lambda symbol, day: {"BASS_DT": _ymd(day - dt.timedelta(days=RANGE_DAYS))},
    "HHPST074500C0": lambda symbol, day: {
        "MKSC_SHRN_ISCD": symbol,
        "START_DATE": _ymd(day - dt.timedelta(days=RANGE_DAYS)),
        "END_DATE": _ymd(day),
    },
}
# The start-date parameter of each start/end range, by its cursor (the others take an anchor date).
RANGE_START = {("FID_INPUT_DATE_2",): "FID_INPUT_DATE_1", ("END_DATE",): "START_DATE"}
PAGING_PROBE_DAYS = 400  # asked of every date-ranged TR: more than any one page holds
HISTORY_PROBES = {"FHPPG04600001": (240, 270, 400)}  # days back; spec: "8개월 이상 과거 조회 불가"
CALENDAR_CHECK_DAYS = 60


def registry_drift(
    endpoint: Endpoint, body: Mapping[str, Any], recorded: Mapping[str, Any], baseline: Mapping[str, Any]
) -> dict[str, Any]:
    """How one response differs from the registry (missing/changed: breaking) and the baseline (new,
    removed: informational). `recorded` is the described response, `baseline` the TR ID's baseline."""
    drift: dict[str, Any] = {
        "shape": None,
        "missing": [],
        "changed": [],
        "new": [],
        "removed": [],
        "derived": [],
    }
    expected_shape = "list" if endpoint.is_list else "object"
    rows_schema = recorded.get(endpoint.rows_key)
    if rows_schema is None or rows_schema["shape"] != expected_shape:
        found = "absent" if rows_schema is None else rows_schema["shape"]
        drift["shape"] = f"{endpoint.rows_key} should be a {expected_shape}, found {found}"
        return drift
    payload = body[endpoint.rows_key]
    rows = [
        row
        for row in (payload if endpoint.is_list else [payload])
        if isinstance(row, Mapping) and not is_unpublished(row, endpoint)
    ]
    observed = rows_schema["fields"]
    for spec in endpoint.fields:
        absent = [row for row in rows if spec.source not in row]
        if absent and spec.sum_of and all(part in row for row in absent for part in spec.sum_of):
            drift["derived"].append(spec.source)  # an undocumented total, summed from its parts
            continue
        if absent:
            drift["missing"].append(spec.source)
            continue
        for row in rows:
            try:
                parse_value(row[spec.source], spec, tr_id=endpoint.tr_id, symbol=None)
            except KISError as exc:
                drift["changed"].append(
                    {
                        "field": spec.source,
                        "registered": spec.kind.value,
                        "observed": observed[spec.source],
                        "problem": getattr(exc, "problem", str(exc)),
                    }
                )
                break
    registered = {spec.source for spec in endpoint.fields}
    accepted = set(baseline.get(endpoint.rows_key, {}).get("fields", {}))
    drift["new"] = sorted(set(observed) - registered - accepted)
    drift["removed"] = sorted(accepted - set(observed)) if rows else []
    return drift


def is_breaking(entry: Mapping[str, Any]) -> bool:
    if entry["status"] == "error":
        return True
    drift = entry.get("drift") or {}
    return bool(drift.get("shape") or drift.get("missing") or drift.get("changed"))


def discover_endpoint(
    session: KISSession, endpoint: Endpoint, symbol: str, day: dt.date, baseline: Mapping[str, Any]
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": endpoint.name, "path": endpoint.url_path}
    if session.config.paper and not endpoint.paper:
        return {**entry, "status": "skipped", "reason": "real-account only (paper mode)"}
    params = SAMPLE_PARAMS[endpoint.tr_id](symbol, day)
    try:
        page = session.request(endpoint, params, symbol=symbol)
    except KISError as exc:
        return {**entry, "status": "error", "error": str(exc)}
    recorded = response_schema(page.body)
    return {
        **entry,
        "status": "ok",
        "params": params,
        "tr_cont": page.tr_cont,
        "outputs": recorded,
        "drift": registry_drift(endpoint, page.body, recorded, baseline),
    }


def discover_masters(session: KISSession) -> dict[str, Any]:
    """The master files are fixed-width text: a layout change shows up as a parse error or no stocks."""
    found: dict[str, Any] = {}
    for master in MASTER_FILES:
        try:
            content = session.download(
                f"{session.config.master_base_url}/{master.filename}", label=master.filename
            )
            entries = parse_master(content, master)
        except (KISError, ValueError) as exc:
            found[master.filename] = {"status": "error", "error": str(exc)}
            continue
        common = sum(entry.group == COMMON_STOCK for entry in entries)
        status = "ok" if common else "error"
        found[master.filename] = {
            "status": status,
            "entries": len(entries),
            "common_stocks": common,
            **({} if common else {"error": "no common stocks parsed"}),
        }
    return found


def _long_range(endpoint: Endpoint, symbol: str, day: dt.date) -> dict[str, str]:
    params = SAMPLE_PARAMS[endpoint.tr_id](symbol, day)
    if endpoint.cursor in RANGE_START:
        params[RANGE_START[endpoint.cursor]] = _ymd(day - dt.timedelta(days=PAGING_PROBE_DAYS))
    return params


def _page_facts(page: Page, endpoint: Endpoint, symbol: str) -> dict[str, Any]:
    rows = [row for row in extract_rows(page.body, endpoint, symbol=symbol) if isinstance(row, Mapping)]
    day = next((f.source for f in endpoint.fields if f.column == "time"), "stck_bsop_date")
    days = sorted(str(row[day]) for row in rows if row.get(day))
    return {
        "rows": len(rows),
        "tr_cont": page.tr_cont,
        "newest": days[-1] if days else None,
        "oldest": days[0] if days else None,
    }


def probe_paging(session: KISSession, endpoint: Endpoint, symbol: str, day: dt.date) -> dict[str, Any]:
    """How one date-ranged TR pages a range longer than a page: rows per call, tr_cont, and whether a
    follow-up with tr_cont "N" advances ("tr_cont"), repeats the page ("repeat"), or is not offered
    ("one page": the client moves its cursor date back)."""
    params = _long_range(endpoint, symbol, day)
    try:
        first = session.request(endpoint, params, symbol=symbol)
        facts = {"params": params, "first_page": _page_facts(first, endpoint, symbol)}
        if first.tr_cont not in MORE_PAGES:
            return {**facts, "style": "one page", "page_size": facts["first_page"]["rows"]}
        follow = session.request(endpoint, params, symbol=symbol, tr_cont="N")
    except KISError as exc:
        return {"params": params, "style": "error", "error": str(exc)}
    second, first_facts = _page_facts(follow, endpoint, symbol), facts["first_page"]
    repeated = (second["newest"], second["rows"]) == (first_facts["newest"], first_facts["rows"])
    return {
        **facts,
        "second_page": second,
        "style": "repeat" if repeated else "tr_cont",
        "page_size": facts["first_page"]["rows"],
    }


def probe_history(session: KISSession, symbol: str, day: dt.date) -> dict[str, Any]:
    """Whether KIS serves old windows of the TRs with a documented history limit (rows, or its refusal)."""
    found: dict[str, Any] = {}
    for tr_id, ages in HISTORY_PROBES.items():
        endpoint = ENDPOINTS[tr_id]
        for age in ages:
            old = day - dt.timedelta(days=age)
            params = {**SAMPLE_PARAMS[tr_id](symbol, old)}
            try:
                page = session.request(endpoint, params, symbol=symbol)
                answer: dict[str, Any] = {"status": "ok", **_page_facts(page, endpoint, symbol)}
            except KISError as exc:
                answer = {"status": "refused", "error": str(exc)}
            found.setdefault(tr_id, {})[f"{age}_days_back"] = {"window_end": old.isoformat(), **answer}
    return found


def probe_publication(session: KISSession, symbol: str) -> dict[str, Any]:
    """Today's investor rows as KIS answers them at this moment (KST): FHPTJ04160001 is reported to refuse
    (OPSQ2001 "TIME LIMIT") until 15:41 and FHKST01010900 to leave today's row blank until the close."""
    now = dt.datetime.now(KST)
    today = now.date()
    found: dict[str, Any] = {"asked_at_kst": now.isoformat(timespec="seconds")}
    for tr_id, params in (
        ("FHPTJ04160001", {"FID_INPUT_ISCD": symbol, "FID_INPUT_DATE_1": _ymd(today)}),
        ("FHKST01010900", {"FID_INPUT_ISCD": symbol}),
    ):
        endpoint = ENDPOINTS[tr_id]
        try:
            page = session.request(endpoint, params, symbol=symbol)
        except KISError as exc:
            found[tr_id] = {"status": "refused", "error": str(exc)}
            continue
        rows = [row for row in extract_rows(page.body, endpoint, symbol=symbol) if isinstance(row, Mapping)]
        todays = [row for row in rows if row.get("stck_bsop_date") == _ymd(today)]
        found[tr_id] = {
            "status": "ok",
            "today_row": "absent"
            if not todays
            else "blank"
            if is_unpublished(todays[0], endpoint)
            else "filled",
        }
    return found


def check_calendar(client: KISClient, day: dt.date) -> dict[str, Any]:
    """KIS's opening days (CTCA0903R) against the product's KRX calendar over the weeks before `day`."""
    start = day - dt.timedelta(days=CALENDAR_CHECK_DAYS)
    try:
        days = client.market_days(start, day)
    except KISError as exc:
        return {"status": "error", "error": str(exc)}
    mismatches = [
        {"day": d.isoformat(), "kis_open": bool(is_open), "calendar_open": is_trading_day(d)}
        for d, is_open in zip(days["time"], days["open"], strict=True)
        if bool(is_open) != is_trading_day(d)
    ]
    return {
        "status": "ok" if not mismatches else "mismatch",
        "checked": len(days),
        "from": start.isoformat(),
        "to": day.isoformat(),
        "mismatches": mismatches,
    }


def live_behaviour(session: KISSession, symbol: str, day: dt.date) -> dict[str, Any]:
    """What docs/kis_protocol.md §7-§9 leave unknown about live KIS, as this key sees it: paging style and
    page size per date-ranged TR, history limits, and publication time of today's investor rows."""
    paging = {
        tr_id: probe_paging(session, endpoint, symbol, day)
        for tr_id, endpoint in ENDPOINTS.items()
        if endpoint.cursor and not (session.config.paper and not endpoint.paper)
    }
    if session.config.paper:
        return {"paging": paging}
    return {
        "paging": paging,
        "history": probe_history(session, symbol, day),
        "publication": probe_publication(session, symbol),
    }


def discover(
    session: KISSession, symbol: str, day: dt.date, baseline: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The whole document: one entry per registered endpoint, the master files, the KIS calendar check and
    the live behaviour the client has to survive. Raw calls go through the session itself (one key, so
    a tr_cont follow-up reaches the token that opened it); the calendar through a client over it."""
    endpoints = {
        tr_id: discover_endpoint(session, endpoint, symbol, day, baseline.get(tr_id, {}))
        for tr_id, endpoint in ENDPOINTS.items()
    }
    masters = discover_masters(session)
    calendar = (
        {"status": "skipped", "reason": "real-account only (paper mode)"}
        if session.config.paper
        else check_calendar(KISClient(session), day)
    )
    breaking = [tr_id for tr_id, entry in endpoints.items() if is_breaking(entry)]
    breaking += [name for name, entry in masters.items() if entry["status"] == "error"]
    return {
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "base_url": session.config.base_url,
        "paper": session.config.paper,
        "symbol": symbol,
        "date": day.isoformat(),
        "endpoints": endpoints,
        "masters": masters,
        "calendar": calendar,
        "live_behaviour": live_behaviour(session, symbol, day),
        "breaking": breaking,
    }
