"""A wrapper that keeps credentials out of logs, reprs, tracebacks and f-strings."""

from __future__ import annotations

import hmac

REDACTED = "Secret('***')"


class Secret:
    """Holds a credential; only `reveal()` returns it, every textual form is redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("Secret needs a non-empty string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Spawned worker processes receive the config by pickling; the value travels, the repr never does.
        return (Secret, (self._value,))


def as_secret(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)
