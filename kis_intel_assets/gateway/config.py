"""Gateway settings: the real app key (from the environment), the local clients and the priority classes.

The clients file is TOML, so a user can keep the local credentials next to the tools that use them:

    [[clients]]
    name = "trading-bot"
    app_key = "local-bot-key"
    app_secret = "local-bot-secret"

    [priority]            # classes in serving order; a TR ID matching none of them is "bulk"
    order = ["TTTC*", "VTTC*"]
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kis_intel_assets import settings
from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.kis.config import KISConfig
from kis_intel_assets.kis.secrets import Secret
from kis_intel_assets.settings import APP_KEY_ENV, APP_SECRET_ENV, GATEWAY_CLIENTS_ENV, RATE_LIMIT_ENV
from kis_intel_assets.storage import resolve_database_url

BULK_CLASS = "bulk"
# Order and account TRs (domestic stock orders TTTC…, their paper twins VTTC…) jump the quotation queue.
DEFAULT_PRIORITY = {"order": ("TTTC*", "VTTC*")}


@dataclass(frozen=True)
class LocalClient:
    """One tool allowed to use the gateway: its name (metrics, fairness) and its own local credentials."""

    name: str
    app_key: Secret
    app_secret: Secret

    def __repr__(self) -> str:
        return f"LocalClient(name={self.name!r})"


@dataclass(frozen=True)
class PriorityClass:
    name: str
    tr_id_patterns: tuple[str, ...]

    def matches(self, tr_id: str) -> bool:
        return any(fnmatch.fnmatchcase(tr_id, pattern) for pattern in self.tr_id_patterns)


@dataclass(frozen=True)
class GatewaySettings:
    """`upstream_concurrency` requests are in flight at most, so the gateway never claims every slot of
    the shared budget and direct users of the key (Dagster runs) keep getting theirs."""

    kis: KISConfig
    clients: tuple[LocalClient, ...]
    priority: tuple[PriorityClass, ...] = field(
        default_factory=lambda: tuple(PriorityClass(n, p) for n, p in DEFAULT_PRIORITY.items())
    )
    upstream_concurrency: int = 0  # 0 = half the key's slots
    max_queued_per_client: int = 256
    rate_limited_max_attempts: int = 8
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 1.0
    shutdown_grace_seconds: float = 30.0

    def __post_init__(self) -> None:
        names = [client.name for client in self.clients]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(f"gateway clients: duplicate name(s) {duplicates}")
        keys = [client.app_key for client in self.clients]
        if len(set(keys)) != len(keys):
            raise ConfigurationError("gateway clients: two clients share one app_key")
        if any(key == self.kis.app_key for key in keys):
            raise ConfigurationError("gateway clients: a local app_key equals the real KIS app key")
        if not self.upstream_concurrency:
            slots = max(1, int(self.kis.effective_rate_per_sec))
            object.__setattr__(self, "upstream_concurrency", max(1, math.ceil(slots / 2)))

    @property
    def class_names(self) -> tuple[str, ...]:
        return (*(c.name for c in self.priority), BULK_CLASS)

    def priority_of(self, tr_id: str) -> int:
        """Index into class_names: lower is served first."""
        for index, priority_class in enumerate(self.priority):
            if priority_class.matches(tr_id):
                return index
        return len(self.priority)


def load_clients_file(path: Path) -> tuple[tuple[LocalClient, ...], tuple[PriorityClass, ...] | None]:
    """Clients and (when the file has a [priority] table) the priority classes; errors name the entry."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"gateway clients file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"gateway clients file {path}: not valid TOML ({exc})") from None
    entries = document.get("clients")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"gateway clients file {path}: needs at least one [[clients]] entry")
    clients = []
    for position, entry in enumerate(entries, 1):
        missing = [
            k
            for k in ("name", "app_key", "app_secret")
            if not isinstance(entry.get(k), str) or not entry[k].strip()
        ]
        if missing:
            raise ConfigurationError(f"gateway clients file {path}: entry {position} lacks {missing}")
        clients.append(
            LocalClient(entry["name"].strip(), Secret(entry["app_key"]), Secret(entry["app_secret"]))
        )
    table = document.get("priority")
    if table is None:
        return tuple(clients), None
    if not isinstance(table, dict) or not all(
        isinstance(patterns, list) and all(isinstance(p, str) and p for p in patterns)
        for patterns in table.values()
    ):
        raise ConfigurationError(f"gateway clients file {path}: [priority] maps a class to a list of TR IDs")
    return tuple(clients), tuple(PriorityClass(name, tuple(p)) for name, p in table.items())


def settings_from_environment(
    clients_file: Path | None, environ: Mapping[str, str] | None = None, **overrides: object
) -> GatewaySettings:
    """The real key as the Dagster assets read it (KIS_APP_KEY, KIS_APP_SECRET, KIS_BASE_URL, KIS_PAPER,
    KIS_RATE_LIMIT_PER_SEC, KIS_INTEL_DATABASE_URL): the gateway and the assets then share one budget."""
    source = settings.kis_source(environ)
    missing = [name for name in (APP_KEY_ENV, APP_SECRET_ENV) if not settings.is_set(name, environ=environ)]
    if missing:
        raise ConfigurationError(f"the gateway needs the real KIS credentials: set {', '.join(missing)}")
    path = clients_file or settings.gateway_clients_file(environ)
    if path is None:
        raise ConfigurationError(f"name the local clients file with --clients or {GATEWAY_CLIENTS_ENV}")
    clients, priority = load_clients_file(path)
    rate = settings.text(RATE_LIMIT_ENV, environ=environ)
    try:
        if rate and not math.isfinite(float(rate)):
            raise ValueError("not a finite number")
        kis = KISConfig(
            app_key=Secret(source.app_key),
            app_secret=Secret(source.app_secret),
            database_url=Secret(resolve_database_url(environ)),
            paper=source.paper,
            base_url=source.base_url,
            rate_limit_per_sec=float(rate) if rate else None,
        )
    except ValueError as exc:
        raise ConfigurationError(f"KIS_RATE_LIMIT_PER_SEC={rate!r}: {exc}") from None
    fields: dict[str, Any] = dict(overrides)  # GatewaySettings fields: its constructor checks them
    if priority is not None:
        fields["priority"] = priority
    return GatewaySettings(kis=kis, clients=clients, **fields)
