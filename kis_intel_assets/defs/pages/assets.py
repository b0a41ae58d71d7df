"""The dashboard pages as external assets: Dagster does not build them (they query PostgreSQL on every
request), but they are downstream of the tables they read, so the lineage view answers "what breaks if
this table is late" all the way to the page, and each links to the page itself."""

import dagster as dg

from kis_intel_assets.page_links import page_url

GROUP = "pages"


def _page(view: str, title: str, reads: list[str]) -> dg.AssetSpec:
    return dg.AssetSpec(
        f"{view}_page",
        description=f"{title} — served by `kis-intel serve` at /{view}, read live from PostgreSQL.",
        group_name=GROUP,
        kinds={"html"},
        deps=reads,
        metadata={"url": dg.MetadataValue.url(page_url(view))},
    )


page_specs = [
    _page(
        "sectors",
        "Sector treemap by net flow",
        ["stock_universe", "daily_prices", "investor_trends", "sector_money_flow"],
    ),
    _page(
        "overheat",
        "공매도 과열종목 dashboard",
        ["stock_universe", "daily_prices", "short_selling", "short_overheat", "overheat_candidates"],
    ),
    _page(
        "rotation",
        "Relative Rotation Graph, signals and scorecard",
        ["stock_universe", "sector_money_flow", "rotation_signal", "rotation_scorecard"],
    ),
]
