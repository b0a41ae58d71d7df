"""`kis-intel discover`: call every registered endpoint once, record what the responses look like, and
compare that with what the client relies on.

Breaking drift (exit status 1) is anything that would make ingestion fail: a registered field missing
or no longer parseable as its registered kind, the rows output missing or a list turned into an object,
an endpoint that answers with an error, or a master file that no longer parses. New fields and fields
that left the baseline are reported but do not fail the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kis_intel_assets.kis.config import (
    BASE_URL_ENV,
    MASTER_BASE_URL,
    MASTER_BASE_URL_ENV,
    PAPER_ENV,
    KISConfig,
    paper_from_env,
)
from kis_intel_assets.kis.datasets import MARKETS, KISClient
from kis_intel_assets.kis.endpoints import ENDPOINTS, Endpoint
from kis_intel_assets.kis.errors import KISError
from kis_intel_assets.kis.masters import COMMON_STOCK, MASTER_FILES, parse_master
from kis_intel_assets.kis.parsing import is_unpublished, parse_value
from kis_intel_assets.kis.schema import load_baseline, response_schema
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.krx_calendar import previous_trading_day
from kis_intel_assets.storage import ConfigurationError, migrate, resolve_database_url

APP_KEY_ENV, APP_SECRET_ENV = "KIS_APP_KEY", "KIS_APP_SECRET"
RANGE_DAYS = 30  # ranged endpoints are asked for about a month, so lists have rows to type
KOSPI = MARKETS["KOSPI"]
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
        "FID_INPUT_ISCD": KOSPI.index_code, "FID_INPUT_DATE_1": _ymd(day),
        "FID_INPUT_ISCD_1": KOSPI.investor_code, "FID_INPUT_DATE_2": _ymd(day),
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
}


def registry_drift(endpoint: Endpoint, body: Mapping[str, Any], recorded: Mapping[str, Any],
                   baseline: Mapping[str, Any]) -> dict[str, Any]:
    """How one response differs from the registry (missing/changed: breaking) and the baseline (new,
    removed: informational). `recorded` is the described response, `baseline` the TR ID's baseline."""
    drift: dict[str, Any] = {"shape": None, "missing": [], "changed": [], "new": [], "removed": []}
    expected_shape = "list" if endpoint.is_list else "object"
    rows_schema = recorded.get(endpoint.rows_key)
    if rows_schema is None or rows_schema["shape"] != expected_shape:
        found = "absent" if rows_schema is None else rows_schema["shape"]
        drift["shape"] = f"{endpoint.rows_key} should be a {expected_shape}, found {found}"
        return drift
    payload = body[endpoint.rows_key]
    rows = [row for row in (payload if endpoint.is_list else [payload])
            if isinstance(row, Mapping) and not is_unpublished(row, endpoint)]
    observed = rows_schema["fields"]
    for spec in endpoint.fields:
        if any(spec.source not in row for row in rows):
            drift["missing"].append(spec.source)
            continue
        for row in rows:
            try:
                parse_value(row[spec.source], spec, tr_id=endpoint.tr_id, symbol=None)
            except KISError as exc:
                drift["changed"].append({
                    "field": spec.source, "registered": spec.kind.value,
                    "observed": observed[spec.source], "problem": getattr(exc, "problem", str(exc)),
                })
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


def discover_endpoint(session: KISSession, endpoint: Endpoint, symbol: str, day: dt.date,
                      baseline: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": endpoint.name, "path": endpoint.url_path}
    if session.config.paper and not endpoint.paper:
        return {**entry, "status": "skipped", "reason": "real-account only (paper mode)"}
    params = SAMPLE_PARAMS[endpoint.tr_id](symbol, day)
    try:
        page = session.request(endpoint, params, symbol=symbol)
    except KISError as exc:
        return {**entry, "status": "error", "error": str(exc)}
    recorded = response_schema(page.body)
    return {**entry, "status": "ok", "params": params, "tr_cont": page.tr_cont, "outputs": recorded,
            "drift": registry_drift(endpoint, page.body, recorded, baseline)}


def discover_masters(session: KISSession) -> dict[str, Any]:
    """The master files are fixed-width text: a layout change shows up as a parse error or no stocks."""
    found: dict[str, Any] = {}
    for master in MASTER_FILES:
        try:
            content = session.download(f"{session.config.master_base_url}/{master.filename}",
                                       label=master.filename)
            entries = parse_master(content, master)
        except (KISError, ValueError) as exc:
            found[master.filename] = {"status": "error", "error": str(exc)}
            continue
        common = sum(entry.group == COMMON_STOCK for entry in entries)
        status = "ok" if common else "error"
        found[master.filename] = {"status": status, "entries": len(entries), "common_stocks": common,
                                  **({} if common else {"error": "no common stocks parsed"})}
    return found


def discover(session: KISSession, symbol: str, day: dt.date,
             baseline: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The whole document: one entry per registered endpoint plus the master files."""
    endpoints = {tr_id: discover_endpoint(session, endpoint, symbol, day, baseline.get(tr_id, {}))
                 for tr_id, endpoint in ENDPOINTS.items()}
    masters = discover_masters(session)
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
        "breaking": breaking,
    }


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    lines = [f"{'TR ID':<14} {'status':<8} {'fields':>6} {'new':>4} {'missing':>7} {'changed':>7}  name"]
    for tr_id, entry in document["endpoints"].items():
        drift = entry.get("drift") or {}
        fields = sum(len(o["fields"]) for o in entry.get("outputs", {}).values())
        status = "BREAKING" if tr_id in document["breaking"] else entry["status"]
        counts = [len(drift.get(kind, [])) for kind in ("new", "missing", "changed")]
        lines.append(f"{tr_id:<14} {status:<8} {fields:>6} {counts[0]:>4} {counts[1]:>7} {counts[2]:>7}  "
                     f"{entry['name']}")
        for detail in _details(entry):
            lines.append(f"{'':<15}{detail}")
    for name, entry in document["masters"].items():
        lines.append(f"{name:<23} {entry['status']}: {entry.get('common_stocks', 0)} common stocks"
                     + (f" ({entry['error']})" if "error" in entry else ""))
    return lines


def _details(entry: Mapping[str, Any]) -> list[str]:
    drift = entry.get("drift") or {}
    details = [f"error: {entry['error']}"] if "error" in entry else []
    if drift.get("shape"):
        details.append(f"shape: {drift['shape']}")
    details += [f"missing: {name}" for name in drift.get("missing", [])]
    details += [f"changed: {c['field']} ({c['registered']} -> {c['observed']}: {c['problem']})"
                for c in drift.get("changed", [])]
    details += [f"new: {name}" for name in drift.get("new", [])]
    return details


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kis-intel discover",
        description="Record the response schema of every registered KIS endpoint and diff it against the "
        f"client's registry (exit 1 on breaking drift). Credentials: {APP_KEY_ENV} / {APP_SECRET_ENV}.",
    )
    # The defaults come from the same variables the Dagster definitions read, so `discover` checks the
    # server the assets call (a simulator, the paper domain) unless told otherwise.
    parser.add_argument("--base-url", default=os.environ.get(BASE_URL_ENV, "").strip(),
                        help=f"KIS REST base URL (default: {BASE_URL_ENV}, else the real or paper domain)")
    parser.add_argument("--master-base-url",
                        default=os.environ.get(MASTER_BASE_URL_ENV, "").strip() or MASTER_BASE_URL,
                        help=f"where the master zips live (default: {MASTER_BASE_URL_ENV}, else KIS's host)")
    parser.add_argument("--paper", action="store_true", default=paper_from_env(os.environ.get(PAPER_ENV, "")),
                        help=f"paper-trading key, real-only TRs are skipped (default: {PAPER_ENV})")
    parser.add_argument("--symbol", default="005930", help="sample stock (default 005930)")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None,
                        help="sample day YYYY-MM-DD (default: the last KRX trading day before today)")
    parser.add_argument("--output", type=Path, default=Path("schema.json"), help="JSON document to write")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="accepted schema to report new fields against (default: the shipped one)")
    parser.add_argument("--database-url", default="",
                        help="token store / rate limiter database (default KIS_INTEL_DATABASE_URL)")
    return parser


def run_discover_cli(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    key, secret = os.environ.get(APP_KEY_ENV, ""), os.environ.get(APP_SECRET_ENV, "")
    if not key or not secret:
        print(f"kis-intel discover: error: set {APP_KEY_ENV} and {APP_SECRET_ENV}", file=sys.stderr)
        return 2
    try:
        baseline = load_baseline(args.baseline)
        url = args.database_url or resolve_database_url()
        migrate(url)
    except (ValueError, ConfigurationError) as exc:
        print(f"kis-intel discover: error: {exc}", file=sys.stderr)
        return 2
    day = args.date or previous_trading_day(dt.date.today())
    config = KISConfig(app_key=key, app_secret=secret, database_url=url, paper=args.paper,
                       base_url=args.base_url, master_base_url=args.master_base_url)
    with KISClient(config) as client:
        document = discover(client, args.symbol, day, baseline)
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("\n".join(summary_lines(document)))
    breaking = document["breaking"]
    verdict = f"BREAKING drift in {', '.join(breaking)}" if breaking else "no breaking drift"
    print(f"\n{verdict}; schema written to {args.output}")
    return 1 if document["breaking"] else 0
