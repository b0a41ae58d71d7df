"""How each injected fault changes a reply (protocol.md "Faults")."""

from __future__ import annotations

import json
import re

from starlette.responses import Response

from kis_intel_assets.simulator.errors import rate_limited
from kis_intel_assets.simulator.faults import FaultInjector

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


def corrupt_field(injector: FaultInjector, body: dict[str, object]) -> str:
    """bad_field: make one numeric field non-numeric ("12a3") or drop it; returns a description."""
    target = None
    for key in ("output2", "output", "output1"):
        value = body.get(key)
        if isinstance(value, list) and value:
            target = value[0]
            break
        if isinstance(value, dict) and value:
            target = value
            break
    if not isinstance(target, dict):
        return "no-data"
    candidates = sorted(
        k
        for k, v in target.items()
        if isinstance(v, str) and _NUMERIC.match(v) and not k.endswith(("_date", "_hour"))
    )
    if not candidates:
        return "no-numeric-field"
    field = candidates[injector.choice(len(candidates))]
    if injector.choice(2) == 0:
        text = str(target[field]).lstrip("-") or "0"
        target[field] = text[: max(1, len(text) // 2)] + "a" + text[max(1, len(text) // 2) :]
        return f"{field}:non-numeric"
    del target[field]
    return f"{field}:missing"


def malformed(payload: bytes) -> bytes:
    return payload[: len(payload) // 3] + b"\x00<<not json>>" + payload[len(payload) // 3 :]


def truncated(payload: bytes) -> bytes:
    return payload[: max(1, len(payload) // 2)]
