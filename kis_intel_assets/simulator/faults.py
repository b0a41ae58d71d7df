"""Seeded, reproducible fault injection (a simulator feature, not KIS behaviour: docs/kis_protocol.md §15).

Spec grammar: comma-separated `kind[@TR_ID[:SYMBOL]][/FIELD]=rate`, e.g.
"http5xx=0.02,bad_field@FHPST04830000:005930=1,bad_number@FHKST03010100/stck_hgpr=1". `/FIELD` names the
KIS field a corrupting fault (bad_field, bad_number) changes; without it one is drawn.
Each quotation request draws one uniform number per matching rule, in spec order, from a RNG seeded by the
spec's
seed; the first rule whose draw falls under its rate fires. The same request sequence therefore gets the same
faults, and per-kind counters record what was injected.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

FAULT_KINDS = (
    "latency",
    "timeout",
    "http5xx",
    "egw00201_500",
    "egw00201_200",
    "malformed",
    "truncated",
    "drop",
    "token_expiry",
    "bad_field",
    "bad_number",
)
_ITEM = re.compile(
    r"^(?P<kind>[a-z0-9_]+)(@(?P<tr>[A-Z0-9]+)(:(?P<symbol>[0-9A-Z]{6}))?)?(/(?P<field>[a-z0-9_]+))?"
    r"=(?P<rate>[0-9.eE+-]+)$"
)


@dataclass(frozen=True)
class FaultRule:
    kind: str
    rate: float
    tr_id: str | None = None
    symbol: str | None = None
    field: str | None = None  # the KIS field a corrupting fault changes (None: drawn per reply)

    def matches(self, tr_id: str, symbol: str | None) -> bool:
        return (self.tr_id is None or self.tr_id == tr_id) and (self.symbol is None or self.symbol == symbol)

    def __str__(self) -> str:
        target = (
            ""
            if self.tr_id is None
            else f"@{self.tr_id}" + ("" if self.symbol is None else f":{self.symbol}")
        )
        return f"{self.kind}{target}{'' if self.field is None else '/' + self.field}={self.rate:g}"


@dataclass(frozen=True)
class FaultSpec:
    rules: tuple[FaultRule, ...] = ()
    seed: int = 0
    latency_seconds: float = 0.3  # extra delay of a "latency" fault
    timeout_seconds: float = 15.0  # sleep of a "timeout" fault; set it above the client's timeout

    @classmethod
    def parse(
        cls, spec: str, seed: int = 0, latency_seconds: float = 0.3, timeout_seconds: float = 15.0
    ) -> FaultSpec:
        rules = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            match = _ITEM.match(item)
            if match is None:
                raise ValueError(f"fault spec item {item!r} is not kind[@TR_ID[:SYMBOL]][/FIELD]=rate")
            kind = match["kind"]
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r} in {item!r}; known: {', '.join(FAULT_KINDS)}")
            try:
                rate = float(match["rate"])
            except ValueError:
                raise ValueError(f"fault rate in {item!r} is not a number") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate in {item!r} must be within [0, 1]")
            rules.append(FaultRule(kind, rate, match["tr"], match["symbol"], match["field"]))
        return cls(tuple(rules), seed, latency_seconds, timeout_seconds)

    def __str__(self) -> str:
        return ",".join(str(rule) for rule in self.rules)


@dataclass
class FaultInjector:
    spec: FaultSpec
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.spec.seed)
        self._lock = threading.Lock()

    def draw(self, tr_id: str, symbol: str | None) -> FaultRule | None:
        with self._lock:
            for rule in self.spec.rules:
                if rule.matches(tr_id, symbol) and self._rng.random() < rule.rate:
                    self.counts[rule.kind] += 1
                    return rule
        return None

    def choice(self, options: int) -> int:
        """A reproducible pick among `options` variants of the fault just drawn."""
        with self._lock:
            return self._rng.randrange(options)
