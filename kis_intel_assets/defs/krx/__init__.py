"""The KRX data portal in the asset graph: short-selling balance, whole-market investor flows, the
investor_trends fast path and the KIS-vs-KRX reconciliation (README "KRX data portal")."""
