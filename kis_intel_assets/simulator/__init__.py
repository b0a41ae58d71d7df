"""Local KIS-compatible simulator: real HTTP on loopback, a deterministic seeded KRX market behind it.

Usage::

    from kis_intel_assets.simulator import SimulatorConfig, FaultSpec, running_simulator
    with running_simulator(SimulatorConfig(seed=7, n_symbols=50, start=date(2024, 1, 2))) as sim:
        sim.base_url, sim.master_base_url, sim.truth.daily_prices(...), sim.stats.token_issuances(key)

Documented behaviour where the KIS sources leave a choice (simulator decisions; docs/kis_protocol.md says
what is known):
- Data: KRX trading days only (exchange_calendars XKRX). No corporate actions. Tick sizes use the
  2023-01-25 unified schedule for the whole history. The universe changes (universe.py): listings,
  delistings and trading halts at `listings_per_year` / `delistings_per_year` / `halts_per_year` per
  2,500 stocks (100 / 60 / 40, KRX-like), scaled to the universe and span and rounded down (a
  12-stock, one-year simulator has none; tests raise the rates). A stock has no rows before its
  listing or after its delisting and leaves the master files; a halted day trades nothing
  (volume 0, open = high = low = close = the last close, zero flows).
- Simulated clock (clock.py; `now` naive = KST, `time_offset`, `clock_running`, `Simulator.set_now`;
  CLI `--now` / `--time-offset`): responses carry a Date header from it. Each daily TR publishes
  today at its own time in its own form (`publication`): FHPTJ04160001 refuses with rt_cd "2"
  OPSQ2001 "TIME LIMIT 00:00 ~ 15:40" until 15:41 (`time_limit_scope` "all" refuses every request,
  "today" only a request anchored on today); FHKST01010900 puts today's row on top with every
  value "" until 15:40; FHKST03010100 serves today's candle growing through the session until
  15:30; short selling and programme data leave today out until 15:40 (their time is unknown).
  `now=None`: after 18:00 of the last configured day. Ground truth ignores the clock.
- FHPPG04600001 serves 8 months back from the clock's day ("8개월 이상 과거 조회 불가"): an older
  FID_INPUT_DATE_1 is refused (HTTP 200, rt_cd "1", msg_cd OPSQ1002, simulator choice) or, with
  `history_limit_form="clip"`, the older rows are left out.
- No rows for a listed-once stock and range (before listing, after delisting): `no_data_form`
  "rt7" (HTTP 200, rt_cd "7", KIOK0560 조회할 자료가 없습니다), "empty_row" (rt_cd "0",
  `output2: [{}]`) or "zero_price" (output1 stck_prpr "0" and no rows; endpoints without output1
  answer an empty list).
- 업종 codes (sectors.py): CTPF1002R idx_bztp_mcls_cd is KIS's 3-digit code ("013"), shared by
  KOSPI and KOSDAQ sectors; FHPUP02120000 takes the 4-digit index code (market digit + code);
  names are written as in KIS's example ("전기,전자"); idx_bztp_lcls_cd is the size class ("002"
  대형주 for KOSPI200/KOSDAQ150 members, "004" 소형주); pdno is "00000A" + code.
- Unknown stock/index codes: HTTP 200, rt_cd "7", msg_cd KIOK0560. Bad or missing query
  parameters: HTTP 500, rt_cd "1", msg_cd OPSQ2001, msg1 naming the parameter. Missing header:
  HTTP 500, msg_cd EGW00205 naming it. Unknown TR ID or path/TR mismatch: HTTP 500 OPSQ0002.
  Paper mode: real-only TRs (Paper "no" in docs/kis_protocol.md §3) -> HTTP 500 MCA00124;
  rate limit capped at 2/s. Invalid token: HTTP 500 EGW00121; expired token: EGW00123 with
  `expired_token_http_status` (500).
- Token endpoint: every successful answer within `token_min_interval_seconds` (60) of the
  previous call for the same key is refused with 403 EGW00133; within 6 h the same token is
  returned. Bad grant_type -> 403 EGW00002; missing or not-allowed appkey/appsecret -> 403
  EGW00103. Faults never hit the token endpoint or master files.
- Rate limit: per app key, at most int(rate) admitted quotation requests in any sliding 1-second
  window; refused requests (EGW00201, HTTP 500 or 200 per `rate_limit_style`) do not count.
  Header checks come first, then the limit, then the token. `new_key_rate_limit_per_sec` (CLI
  `--new-key-rate`) holds new keys (`new_keys`, default every key) to a lower limit, as KIS does for a
  new customer's key (about 3/s for its first days).
- Paging: per TR as paging.py says (`paging_style`, `page_sizes`; `page_size` 100 where unknown).
  Fields: exactly documented.py's set per output. A cursor is keyed by (token, tr_id, all query
  params); tr_cont "N" with no live cursor (e.g. after a token change) restarts at the first
  page. A cursor advances only when the page was delivered intact (no fault, or
  latency/token_expiry), so retrying after any other fault repeats the page.
- FHPST04830000 acml_ssts_* are cumulative from the first served day of the requested range;
  avrg_prc is the short average price ("0" with no short volume);
  stnd_vol_smtn/stnd_tr_pbmn_smtn equal acml_vol/acml_tr_pbmn.
- Investor money values (KRW million) are allocated from the day's trading value rounded to
  millions, so groups sum exactly and nets cancel; their sum differs from acml_tr_pbmn by that
  rounding.
- Market-level datasets (FHPTJ04040000 flows, FHPPG04600001 program trading) and index levels
  are generated per market from shared factors, not summed from the per-stock series. Sector
  indices follow the members' common (market + sector) return component. FHPTJ04400000 ranks the
  largest 60 stocks of the scope by final figures.
- FHKST03010100 hts_avls is in 억원 (KRW 100 million). FID_PERIOD_DIV_CODE D/W/M/Y (a bar is dated
  by the last trading day of its period); FID_INPUT_DATE_1 "00000101" = from the first day.
- Short regimes (docs/krx_rules.md §3): full bans 2020-03-16..2021-05-02 and
  2023-11-06..2025-03-30 with only market-maker prints (~0.03% of volume on a quarter of days);
  2021-05-03..2023-11-05 only KOSPI200/KOSDAQ150 members (top 200/950 and 150/1550 of each
  market by initial market cap, scaled for smaller universes). Short attacks (1/250 allowed
  stock-days): short ratio x8, price drop 6-13%, volume x2.5.
- Rotation episodes: see factors.EpisodeParams; `truth.rotation_episodes()` lists them.
- Faults: see faults.py; timeout sleeps `FaultSpec.timeout_seconds` then answers normally;
  token_expiry answers normally and expires the caller's token so the next call gets EGW00123;
  drop aborts the TCP connection.
- Dates: FHPTJ04160001/FHPPG04650201/FHPUP02120000 FID_INPUT_DATE_1 blank = latest day;
  FHPTJ04040000 ignores FID_INPUT_DATE_2 and reports market-level flows for FID_INPUT_ISCD_1
  (KSP/KSQ) with the FID_INPUT_ISCD_2 index levels.
- Extra config beyond the brief: token_min_interval_seconds / token_reuse_seconds (tests can
  shorten the 1/min rule), page_size, symbol_cache_size (LRU of per-symbol series, ~1 MB each),
  expired_token_http_status; `Simulator.set_now()` moves the simulated clock at runtime.
  OPSQ2001 for bad parameters is a simulator choice that reuses the code KIS sends with
  "TIME LIMIT": the client tells them apart by the message.
"""

from kis_intel_assets.simulator.config import SimulatorConfig
from kis_intel_assets.simulator.factors import EpisodeParams, RotationEpisode
from kis_intel_assets.simulator.faults import FAULT_KINDS, FaultSpec
from kis_intel_assets.simulator.replay import ReplayDataError
from kis_intel_assets.simulator.server import Simulator, running_simulator

__all__ = [
    "FAULT_KINDS",
    "EpisodeParams",
    "FaultSpec",
    "ReplayDataError",
    "RotationEpisode",
    "Simulator",
    "SimulatorConfig",
    "running_simulator",
]
