"""How the graph runs by itself: the 16:40 KST schedule ingests the day, declarative automation derives
the analytics from it, and the alert sensors read the analytics tables.

Daily chain (nobody clicks): `daily_market_data_schedule` → one ingest run for the day → the
`analytics_automation` sensor (RUNNING by default, every 30 s) sees the day's ingest partitions land
and requests every analytics partition whose trailing window is now complete → one run for that day
(all daily analytics assets of one partition go into one run), then `rotation_scorecard` → alert sensors.

Backfills: a backfill of ingest over N days updates the trailing windows of up to N + lookback analytics
partitions. The sensor requests all of them in the same tick, and because more than one partition is
requested it emits one asset backfill instead of runs (`emit_backfills`); the analytics assets have a
single-run backfill policy, so that backfill is one run per layer of the graph (today: the per-stock
and sector layer, then `rotation_signal`, then the scorecard), whatever N is.

Freshness: every daily table must have been updated by 18:30 KST on weekdays (the schedule starts at
16:40), so a day that did not arrive shows as a failed freshness state in the UI. KRX holidays are
weekdays too, so those show stale for the evening (a weekday cron cannot skip them).
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

ANALYTICS_GROUP = "analytics"
SEOUL_TZ = "Asia/Seoul"
AUTOMATION_INTERVAL_SECONDS = 30

# Reference data, refreshed every morning: a new master row must not recompute every analytics day.
_REFERENCE = dg.AssetSelection.assets("stock_universe")

AC = dg.AutomationCondition

# `eager()` without `in_latest_time_window()`: every partition whose upstream window changed (not only
# today's), so backfilled history is recomputed too. Partitions wait while any day of their trailing
# window is missing or still being written, and are never requested twice for the same update.
DAILY_ANALYTICS = (
    AC.any_deps_updated().ignore(_REFERENCE).since_last_handled().with_label("upstream_window_updated")
    & ~AC.any_deps_missing()
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
).with_label("eager_every_partition")

# The scorecard reads all stored signals: recompute once a run's signals have landed, never while
# rotation_signal is being written or about to be (it would score the previous signals).
WHOLE_HISTORY_ANALYTICS = (
    AC.any_deps_match(AC.newly_updated()).since_last_handled().with_label("signals_updated")
    & ~AC.any_deps_match(AC.in_progress() | AC.will_be_requested()).with_label("signals_in_flight")
    & ~AC.in_progress()
).with_label("after_signals_land")

# Daily tables are written every weekday after the close (the schedule starts 16:40 KST): each must have
# an update between 16:30 and 18:30 KST, or the UI shows it stale. On a KRX holiday (a weekday without
# data) they show stale too — that is the one false alarm of a weekday cron.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="30 18 * * 1-5", lower_bound_delta=timedelta(hours=2), timezone=SEOUL_TZ
)

analytics_automation = dg.AutomationConditionSensorDefinition(
    "analytics_automation",
    target=dg.AssetSelection.groups(ANALYTICS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
    description="Materializes analytics partitions when their upstream trading days land "
    "(one run per day; one backfill for many days).",
)
