"""The KRX markets the product covers (KONEX is out of scope): one tuple for ingest, checks and analytics."""

from __future__ import annotations

MARKETS: tuple[str, ...] = ("KOSPI", "KOSDAQ")
