"""The project-wide error for a bad setting, and the map of every exception the project raises.

`ConfigurationError` is raised by storage, the KIS client, alerts, pages and the CLIs. Every entry point
turns it into one `kis-intel: error: …` line (or a failed check), without a traceback and without a
retry: no retry fixes a wrong setting. `kis_intel_assets.storage` re-exports it so imports written
against it keep working. The other failures keep their own families, where they are raised:

    RuntimeError
    ├── ConfigurationError        (errors.py) a setting is missing or wrong; names the setting, never a secret
    └── MigrationError            (storage/migrations.py) a migration file is malformed, failed, or changed
                                  after it was applied
    psycopg.OperationalError
    └── DatabaseUnavailableError  (storage/database.py) the database did not answer in time: an outage,
                                  not a setting; names host:port/database only
    ValueError
    ├── CalendarRangeError        (krx_calendar.py) a date outside the span the XKRX calendar knows
    └── BadParameter              (pages/params.py) a malformed page parameter: the pages answer 400
    KISError                      (kis/errors.py) any KIS (or Kiwoom) call failed; names TR ID and symbol
    ├── KISAPIError               KIS answered rt_cd != "0" in a way retrying will not fix
    │   └── KiwoomAPIError        (kiwoom/errors.py) Kiwoom answered return_code != 0, not retryable
    │       └── KiwoomBatchLimitError  more than 100 items in one Kiwoom request: split it, never retry
    ├── KISPayloadError           a response field is missing or of the wrong kind; never read as zero
    ├── KISTransientError         rate limit, 5xx, timeout or broken JSON outlasted the retry budget
    ├── KISTokenError             no KIS access token could be issued
    ├── KiwoomTokenError          (kiwoom/errors.py) au10001 refused or answered without a usable token
    └── KISNotPublishedError      the day is not published yet ("TIME LIMIT"): skipped, not a failure
    KRXError                      (krx/errors.py) any KRX data-portal call failed; never carries the login
    ├── KRXNotConfiguredError     KRX_ID / KRX_PW unset: KRX is off and no request is made
    ├── KRXLoginError             the portal refused the login (its code, e.g. CD010)
    ├── KRXLoggedOutError         still "LOGOUT" after the one re-login a request may do
    ├── KRXBlockedError           the portal blocked us: no call from any process until `reopens_at`
    ├── KRXNotPublishedError      the day's table is not published yet: not a failure
    ├── KRXUnavailableError       the portal was unreachable or answered 5xx: the run is retried later
    └── KRXPayloadError           a field of an answer is missing or not a number; never read as zero
    Exception
    ├── RejectedData              (defs/ingest/collect.py) data arrived but is wrong: reported as the failed
    │                             blocking schema check, then the step fails; nothing is written
    └── LaneFull                  (gateway/fair_queue.py) a gateway client has too many requests waiting

Internal signals never leave their module: `Transient` (kis/http.py, a retryable attempt) and the
simulator's error answers (simulator/: KisError, KiwoomSimError, TokenThrottledError, UnknownSymbolError),
which it sends as a real server would. `ReplayDataError` (simulator/replay.py, a ValueError) is the one
simulator error a user sees: recorded replay data is unusable, named by file, line and column.
"""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names the setting and never carries secrets."""
