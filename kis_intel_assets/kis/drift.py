"""Schema drift seen during normal ingestion: which response rows carried fields nobody expected, and
which lacked a field the registry maps.

KIS changes field lists without notice. A registered field that disappears already fails the run (the
parser raises KISPayloadError); a field that appears breaks nothing but may be the renamed successor of
one we use, so the client counts both per TR ID and the Dagster `schema_drift` check warns about them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kis_intel_assets.kis.endpoints import Endpoint
from kis_intel_assets.kis.schema import known_fields, shipped_baseline


@dataclass
class _Seen:
    rows: int = 0
    new: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)


class SchemaDrift:
    """Thread-safe per-TR-ID counts of unexpected and missing row fields.

    `baseline` (TR ID → output key → described output) says which unregistered fields are expected;
    the default is the shipped schema_baseline.json.
    """

    def __init__(self, baseline: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> None:
        self._baseline = shipped_baseline() if baseline is None else baseline
        self._known: dict[str, frozenset[str]] = {}
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def observe(self, endpoint: Endpoint, raw_rows: list[object]) -> None:
        """Record the field names of one page of raw rows (before parsing, so a missing field that makes
        the parser raise is still counted)."""
        known = self._known.get(endpoint.tr_id)
        if known is None:
            known = self._known.setdefault(endpoint.tr_id, known_fields(self._baseline, endpoint.tr_id))
        registered = {spec.source for spec in endpoint.fields if not spec.sum_of}  # those may be absent
        with self._lock:
            seen = self._seen.setdefault(endpoint.tr_id, _Seen())
            for row in raw_rows:
                if not isinstance(row, Mapping):
                    continue
                seen.rows += 1
                seen.new.update(name for name in row if name not in known)
                seen.missing.update(registered.difference(row))

    def merge(self, other: SchemaDrift) -> None:
        """Add another accumulator's counts (a client pool reports one drift for all its keys)."""
        with other._lock:
            theirs = {tr_id: (s.rows, Counter(s.new), Counter(s.missing)) for tr_id, s in other._seen.items()}
        with self._lock:
            for tr_id, (rows, new, missing) in theirs.items():
                seen = self._seen.setdefault(tr_id, _Seen())
                seen.rows += rows
                seen.new.update(new)
                seen.missing.update(missing)

    def report(self) -> dict[str, dict[str, Any]]:
        """TR ID → {"rows": rows observed, "new": {field: rows}, "missing": {field: rows}}."""
        with self._lock:
            return {
                tr_id: {
                    "rows": seen.rows,
                    "new": dict(sorted(seen.new.items())),
                    "missing": dict(sorted(seen.missing.items())),
                }
                for tr_id, seen in sorted(self._seen.items())
            }

    def drifted(self) -> dict[str, dict[str, Any]]:
        """Only the TR IDs with new or missing fields."""
        return {tr_id: entry for tr_id, entry in self.report().items() if entry["new"] or entry["missing"]}
