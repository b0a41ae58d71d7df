"""Failures no retry can fix: bad configuration, a reversed range, upstream data that is not there.

Dagster's RetryPolicy re-runs a failed step after its delay whatever the cause, which only postpones
these (and prints the traceback twice); they fail at once with one line saying what to do instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from kis_intel_assets.errors import ConfigurationError

# Processes that serve the definitions to the Dagster UI: there the error belongs on the code location
# (which shows it), not in an exit of the server.
_CODE_SERVER_COMMANDS = (("api", "grpc"), ("code-server", "start"))
T = TypeVar("T")


def deterministic_failure(description: str, **kwargs: Any) -> dg.Failure:
    """A step failure that skips the step's retry policy."""
    return dg.Failure(description=description, allow_retries=False, **kwargs)


def setting_at_load(read: Callable[[], T]) -> T:
    """A setting read while the definitions load; a bad value exits with one line naming it.

    The Dagster CLI (`dagster asset materialize`, `dagster job execute`) prints every load error as a
    76–141-line traceback with the point in its last line; SystemExit is the one thing it lets through.
    """
    try:
        return read()
    except ConfigurationError as error:
        if _serving_code():
            raise
        print(f"kis-intel: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None  # the kis-intel CLI's status for a bad setting


def _serving_code() -> bool:
    args = [arg.rsplit("/", 1)[-1] for arg in sys.argv]
    return any(
        args[i : i + 2] == list(command) for command in _CODE_SERVER_COMMANDS for i in range(len(args))
    )
