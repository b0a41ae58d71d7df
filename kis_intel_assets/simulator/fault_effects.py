"""How each injected fault changes a reply (the kinds and the spec grammar are in faults.py)."""

from __future__ import annotations

import json
import re

from starlette.responses import Response

from kis_intel_assets.simulator.errors import rate_limited
from kis_intel_assets.simulator.faults import FaultInjector, FaultRule

_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
_HTML_5XX = b"<html><head><title>%d</title></head><body><h1>%d Service Unavailable</h1></body></html>"


def error_response(injector: FaultInjector, kind: str) -> Response | None:
    """Faults that replace the reply entirely; None for the others."""
    if kind == "http5xx":
        variant = injector.choice(4)
        status = 502 if variant % 2 == 0 else 503
        if variant < 2:
            return Response(_HTML_5XX % (status, status), status, media_type="text/html")
        return Response(
            json.dumps({"error": f"upstream error {status}"}), status, media_type="application/json"
        )
    if kind in ("egw00201_500", "egw00201_200"):
        error = rate_limited(500 if kind == "egw00201_500" else 200)
        return Response(
            json.dumps(error.body(), ensure_ascii=False), error.http_status, media_type="application/json"
        )
    return None


def _first_row(body: dict[str, object]) -> dict[str, object] | None:
    """The row a corrupting fault changes: the first of the row list (the newest day), or the object."""
    for key in ("output2", "output", "output1"):
        value = body.get(key)
        if isinstance(value, list) and value:
            return value[0] if isinstance(value[0], dict) else None
        if isinstance(value, dict) and value:
            return value
    return None


def _numeric_fields(row: dict[str, object], *, nonzero: bool) -> list[str]:
    return sorted(
        k
        for k, v in row.items()
        if isinstance(v, str)
        and _NUMERIC.match(v)
        and not k.endswith(("_date", "_hour"))
        and not (nonzero and float(v) == 0)
    )


def corrupt(injector: FaultInjector, rule: FaultRule, body: dict[str, object]) -> str:
    """bad_field / bad_number on the reply body; returns "field:how" for the request log."""
    target = _first_row(body)
    if target is None:
        return "no-data"
    # A zero tripled is still zero: bad_number draws among the non-zero fields so the number changes.
    candidates = _numeric_fields(target, nonzero=rule.kind == "bad_number")
    if rule.field is not None:
        candidates = [rule.field] if rule.field in candidates else []
    if not candidates:
        return "no-numeric-field"
    field = candidates[injector.choice(len(candidates))]
    if rule.kind == "bad_number":
        target[field] = tripled_and_shifted(str(target[field]))
        return f"{field}:tripled"
    if injector.choice(2) == 0:
        text = str(target[field]).lstrip("-") or "0"
        target[field] = text[: max(1, len(text) // 2)] + "a" + text[max(1, len(text) // 2) :]
        return f"{field}:non-numeric"
    del target[field]
    return f"{field}:missing"


def tripled_and_shifted(text: str) -> str:
    """A wrong but well-formed number: 3 × value + 7 units of its last digit, same number of decimals."""
    decimals = len(text.partition(".")[2])
    scaled = int(text.replace(".", ""))
    result = 3 * scaled + 7
    if decimals == 0:
        return str(result)
    sign, digits = ("-" if result < 0 else ""), str(abs(result)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def malformed(payload: bytes) -> bytes:
    return payload[: len(payload) // 3] + b"\x00<<not json>>" + payload[len(payload) // 3 :]


def truncated(payload: bytes) -> bytes:
    return payload[: max(1, len(payload) // 2)]
