"""KRX portal credentials (KRX_ID / KRX_PW, the variables pykrx reads): kept as Secrets, never printed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kis_intel_assets import settings
from kis_intel_assets.kis.secrets import Secret, as_secret
from kis_intel_assets.krx.errors import KRXNotConfiguredError


@dataclass(frozen=True, init=False)
class KRXCredentials:
    """A KRX member login; both parts are Secrets, so repr, str and f-strings show neither."""

    login_id: Secret
    password: Secret

    def __init__(self, login_id: str | Secret, password: str | Secret) -> None:
        try:
            object.__setattr__(self, "login_id", as_secret(login_id))
            object.__setattr__(self, "password", as_secret(password))
        except ValueError:
            raise KRXNotConfiguredError("KRX credentials need a non-empty login id and password") from None

    def __repr__(self) -> str:
        return "KRXCredentials(login_id=***, password=***)"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KRXCredentials | None:
        """The credentials from KRX_ID / KRX_PW, or None when either is unset (KRX stays off)."""
        login_id = settings.text(settings.KRX_ID_ENV, environ=environ)
        password = settings.text(settings.KRX_PW_ENV, environ=environ)
        return cls(login_id, password) if login_id and password else None
