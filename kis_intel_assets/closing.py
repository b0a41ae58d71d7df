"""The context-manager half of every client that holds connections (KIS, Kiwoom, KRX): `with X(...) as x:`
closes x when the block ends, error or not, so a run never leaks an HTTP pool or a limiter connection."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Closing(ABC):
    """A resource closed by `close()`, usable as `with resource:`."""

    @abstractmethod
    def close(self) -> None:
        """Release what the resource holds; called once when its `with` block ends."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
