"""How many rows one call returns and whether `tr_cont` pages on, per endpoint (docs/kis_protocol.md §7).

Known: FHKST03010100 answers at most 100 rows and never pages (the client moves FID_INPUT_DATE_2);
FHKST01010400 and FHKST01010900 answer 30 rows; FHPPG04650201 about 30 business days per call and
FHPTJ04160001 about 30 sessions back from its FID_INPUT_DATE_1 anchor, in one page; HHPST074500C0 at
most 100 rows, the caller moving its START_DATE / END_DATE (sample docstring). Unknown: whether KIS
pages the other date-ranged TRs with tr_cont and how many rows a page holds, so those are switchable:

- "known": the facts above; TRs without facts page with tr_cont at `SimulatorConfig.page_size` rows.
  FHPUP02120000 also answers one page: its official sample crashes on tr_cont "M" (it passes a DataFrame
  where tr_cont goes), so a live "M" would have been noticed.
- "tr_cont": every paged TR pages with tr_cont M ... D.
- "short": every paged TR answers one page (tr_cont "D") of the newest rows; the caller moves its
  date back and asks again.
- "repeat": tr_cont says "M" but every follow-up call returns the first page again.
"""

from __future__ import annotations

from collections.abc import Mapping

PAGING_STYLES = ("known", "tr_cont", "short", "repeat")
KNOWN_PAGE_SIZES: Mapping[str, int] = {
    "FHKST03010100": 100,
    "FHKST01010400": 30,
    "FHKST01010900": 30,
    "FHPPG04650201": 30,
    "FHPTJ04160001": 30,
    "HHPST074500C0": 100,  # sample: "최대 100건", then move start_date / end_date
}
KNOWN_ONE_PAGE = frozenset({"FHPPG04650201", "FHPTJ04160001", "FHPUP02120000", "HHPST074500C0"})


def page_size(tr_id: str, default: int, overrides: Mapping[str, int]) -> int:
    return overrides.get(tr_id, KNOWN_PAGE_SIZES.get(tr_id, default))


def style_of(tr_id: str, configured: str) -> str:
    """The effective style of one TR under the configured one."""
    if configured != "known":
        return configured
    return "short" if tr_id in KNOWN_ONE_PAGE else "tr_cont"
