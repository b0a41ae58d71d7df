"""`kis-intel discover`: the command line of kis/discovery.py — its arguments (defaults from the same
variables the Dagster definitions read), the summary it prints, the JSON document it writes and its exit
status (0 fine, 1 breaking drift, 2 a setting is missing or wrong)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kis_intel_assets import settings
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.kis.config import MASTER_BASE_URL, KISConfig
from kis_intel_assets.kis.discovery import discover
from kis_intel_assets.kis.schema import load_baseline
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.kis.session import KISSession
from kis_intel_assets.krx_calendar import previous_trading_day
from kis_intel_assets.settings import (
    APP_KEY_ENV,
    APP_SECRET_ENV,
    BASE_URL_ENV,
    MASTER_BASE_URL_ENV,
    PAPER_ENV,
)
from kis_intel_assets.storage import migrate, resolve_database_url


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    lines = [f"{'TR ID':<14} {'status':<8} {'fields':>6} {'new':>4} {'missing':>7} {'changed':>7}  name"]
    for tr_id, entry in document["endpoints"].items():
        drift = entry.get("drift") or {}
        fields = sum(len(o["fields"]) for o in entry.get("outputs", {}).values())
        status = "BREAKING" if tr_id in document["breaking"] else entry["status"]
        counts = [len(drift.get(kind, [])) for kind in ("new", "missing", "changed")]
        lines.append(
            f"{tr_id:<14} {status:<8} {fields:>6} {counts[0]:>4} {counts[1]:>7} {counts[2]:>7}  "
            f"{entry['name']}"
        )
        for detail in _details(entry):
            lines.append(f"{'':<15}{detail}")
    for name, entry in document["masters"].items():
        lines.append(
            f"{name:<23} {entry['status']}: {entry.get('common_stocks', 0)} common stocks"
            + (f" ({entry['error']})" if "error" in entry else "")
        )
    calendar = document["calendar"]
    lines.append(f"KRX calendar vs CTCA0903R: {calendar['status']}")
    lines += [
        f"{'':<15}{m['day']}: KIS open={m['kis_open']}, calendar open={m['calendar_open']}"
        for m in calendar.get("mismatches", [])
    ]
    live = document["live_behaviour"]
    for tr_id, facts in live["paging"].items():
        lines.append(f"paging {tr_id}: {facts['style']}, {facts.get('page_size', '?')} rows per call")
    for tr_id, ages in live.get("history", {}).items():
        for age, answer in ages.items():
            found = f"{answer['rows']} rows" if "rows" in answer else answer.get("error", "")
            lines.append(f"history {tr_id} {age.replace('_', ' ')}: {answer['status']}, {found}")
    publication = live.get("publication", {})
    for tr_id in ("FHPTJ04160001", "FHKST01010900"):
        if tr_id in publication:
            answer = publication[tr_id]
            found = answer["today_row"] if answer["status"] == "ok" else f"refused ({answer['error']})"
            lines.append(f"today's {tr_id} asked at {publication['asked_at_kst']}: {found}")
    return lines


def _details(entry: Mapping[str, Any]) -> list[str]:
    drift = entry.get("drift") or {}
    details = [f"error: {entry['error']}"] if "error" in entry else []
    if drift.get("shape"):
        details.append(f"shape: {drift['shape']}")
    details += [f"missing: {name}" for name in drift.get("missing", [])]
    details += [
        f"changed: {c['field']} ({c['registered']} -> {c['observed']}: {c['problem']})"
        for c in drift.get("changed", [])
    ]
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
    source = settings.kis_source()
    parser.add_argument(
        "--base-url",
        default=source.base_url,
        help=f"KIS REST base URL (default: {BASE_URL_ENV}, else the real or paper domain)",
    )
    parser.add_argument(
        "--master-base-url",
        default=source.master_base_url or MASTER_BASE_URL,
        help=f"where the master zips live (default: {MASTER_BASE_URL_ENV}, else KIS's host)",
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        default=source.paper,
        help=f"paper-trading key, real-only TRs are skipped (default: {PAPER_ENV})",
    )
    parser.add_argument("--symbol", default="005930", help="sample stock (default 005930)")
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        help="sample day YYYY-MM-DD (default: the last KRX trading day before today)",
    )
    parser.add_argument("--output", type=Path, default=Path("schema.json"), help="JSON document to write")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="accepted schema to report new fields against (default: the shipped one)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="token store / rate limiter database (default KIS_INTEL_DATABASE_URL)",
    )
    return parser


def run_discover_cli(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    source = settings.kis_source()
    key, secret = source.app_key, source.app_secret
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
    config = KISConfig(
        app_key=Secret(key),
        app_secret=Secret(secret),
        database_url=Secret(url),
        paper=args.paper,
        base_url=args.base_url,
        master_base_url=args.master_base_url,
    )
    with KISSession(config) as session:
        document = discover(session, args.symbol, day, baseline)
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("\n".join(summary_lines(document)))
    breaking = document["breaking"]
    verdict = f"BREAKING drift in {', '.join(breaking)}" if breaking else "no breaking drift"
    print(f"\n{verdict}; schema written to {args.output}")
    return 1 if document["breaking"] else 0
