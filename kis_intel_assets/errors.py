"""The project-wide error for a bad setting, raised by storage, the KIS client, alerts, pages and the CLIs.

Every entry point turns it into one `kis-intel: error: …` line (or a failed check), without a traceback and
without a retry: no retry fixes a wrong setting. Other failures keep their own families: `KISError` and its
subclasses in kis/errors.py (the KIS client), `DatabaseUnavailableError` (an outage, not a setting) and
`MigrationError` in storage, `CalendarRangeError` in krx_calendar.py. `kis_intel_assets.storage` re-exports
ConfigurationError so imports written against it keep working.
"""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names the setting and never carries secrets."""
