"""Plotly figures of the pages, built from the query frames; fonts include NanumGothic for Korean labels."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kis_intel_assets.pages.formatting import INVESTOR_LABELS, RULE_LABELS, bp, krw

FONT = "NanumGothic, 'Nanum Gothic', 'Noto Sans KR', sans-serif"
# Korean market convention: red is buying / rising, blue is selling / falling.
FLOW_COLORSCALE = [[0.0, "#1c4fa1"], [0.5, "#f4f4f4"], [1.0, "#c8102e"]]
METHOD_COLORS = {"signal": "#c8102e", "price_only": "#e07b00"}
RRG_BENCHMARK = "the sector's own market: KOSPI or KOSDAQ cap-weighted"
QUADRANT_FILLS = {
    "Leading": ("#2ca02c", 1, 1),
    "Weakening": ("#ffbf00", 1, -1),
    "Lagging": ("#d62728", -1, -1),
    "Improving": ("#1f77b4", -1, 1),
}


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 40, "r": 20, "t": 60, "b": 40},
        paper_bgcolor="white",
    )
    return fig


def sector_treemap(stocks: pd.DataFrame, sectors: pd.DataFrame, investor: str, day: date) -> go.Figure:
    """Sectors and their stocks sized by market cap, coloured by the group's net flow / cap in bp.

    `stocks`: symbol, name, sector_code, market_cap, net, intensity_bp; `sectors`: sector_code, label,
    market_cap, net, intensity_bp. Missing intensities colour neutral (0) and read "n/a" on hover.
    """
    total_cap = float(sectors["market_cap"].sum())
    total_net = float(sectors["net"].sum(min_count=1))
    total_intensity = total_net / total_cap * 1e4 if total_cap > 0 else float("nan")
    ids = ["all", *("sector:" + sectors["sector_code"]), *("stock:" + stocks["symbol"])]
    labels = ["전체 시장 (all)", *sectors["label"], *stocks["name"]]
    parents = ["", *(["all"] * len(sectors)), *("sector:" + stocks["sector_code"])]
    values = [total_cap, *sectors["market_cap"], *stocks["market_cap"]]
    intensity = np.array([total_intensity, *sectors["intensity_bp"], *stocks["intensity_bp"]], dtype=float)
    nets = [total_net, *sectors["net"], *stocks["net"]]
    customdata = [
        [None if np.isnan(n) else n, krw(cap), krw(n, signed=True), bp(i)]
        for n, cap, i in zip(nets, values, intensity, strict=True)
    ]
    limit = float(np.nanpercentile(np.abs(intensity), 95)) if np.isfinite(intensity).any() else 1.0
    fig = go.Figure(
        go.Treemap(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            customdata=customdata,
            marker={
                "colors": np.nan_to_num(intensity, nan=0.0).tolist(),
                "colorscale": FLOW_COLORSCALE,
                "cmid": 0.0,
                "cmin": -max(limit, 1e-6),
                "cmax": max(limit, 1e-6),
                "colorbar": {"title": {"text": "bp"}},
            },
            texttemplate="%{label}<br>%{customdata[3]}",
            hovertemplate=(
                "<b>%{label}</b><br>시가총액 %{customdata[1]}<br>순매수 %{customdata[2]}"
                "<br>강도 %{customdata[3]}<extra></extra>"
            ),
            maxdepth=3,
        )
    )
    title = f"업종 지도 {day.isoformat()} · {INVESTOR_LABELS[investor]} 순매수 / 시가총액"
    return _layout(fig, title, 720)


# The RRG labels at most this many sectors (the biggest movers first); the rest are named on hover.
RRG_MAX_LABELS = 12
RRG_HEIGHT = 680
RRG_MIN_PLOT_WIDTH = 700  # px; a wider plot only spreads the labels further apart
_LABEL_HEIGHT, _LABEL_GAP = 18.0, 6.0


def _label_width(text: str) -> float:
    """Rendered width in px at the 13px page font: Hangul is about twice as wide as Latin."""
    return sum(13.5 if ord(ch) > 0x2000 else 7.8 for ch in text) + 6.0


def _place_labels(
    heads: dict[str, tuple[float, float]], names: dict[str, str], priority: list[str], half: float
) -> dict[str, str]:
    """textposition per sector whose label fits above or below its head without touching a placed one.

    Greedy in priority order on a conservative px scale (the narrowest plot, the full-height axis), so
    the labels the browser draws do not overlap; a sector that fits nowhere keeps its name on hover.
    """
    plot_height = RRG_HEIGHT - 100
    x_scale, y_scale = RRG_MIN_PLOT_WIDTH / (2 * half), plot_height / (2 * half)
    placed: list[tuple[float, float, float, float]] = []
    positions: dict[str, str] = {}
    for code in priority:
        if code not in heads or len(positions) >= RRG_MAX_LABELS:
            continue
        x, y = heads[code][0] * x_scale, heads[code][1] * y_scale
        width = _label_width(names.get(code, code))
        for position, bottom in (
            ("top center", y + _LABEL_GAP),
            ("bottom center", y - _LABEL_GAP - _LABEL_HEIGHT),
        ):
            box = (x - width / 2, x + width / 2, bottom, bottom + _LABEL_HEIGHT)
            if all(box[1] < o[0] or o[1] < box[0] or box[3] < o[2] or o[3] < box[2] for o in placed):
                placed.append(box)
                positions[code] = position
                break
    return positions


def rotation_graph(
    tails: pd.DataFrame, names: dict[str, str], day: date, priority: list[str] | None = None
) -> go.Figure:
    """Relative Rotation Graph: one trace per sector, its tail ending at `day`, quadrants around 100/100.

    Only the first sectors of `priority` (the day's biggest movers, or the filtered ones) whose labels fit
    get a text label, so 40+ sectors stay readable; every trace names its sector on hover and in the
    legend. Traces, shapes and annotations go into one Figure call: adding them one by one re-validates
    the figure each time and costs ~10× more with the full universe's sectors.
    """
    series, span = {}, 1.0
    for code, tail in tails.groupby("sector_code", sort=True):
        x, y = tail["rs_ratio"].to_numpy(float), tail["rs_momentum"].to_numpy(float)
        span = max(span, float(np.abs(x - 100).max()), float(np.abs(y - 100).max()))
        series[str(code)] = (tail, x, y)
    half = span * 1.15 + 0.25
    heads = {code: (x[-1], y[-1]) for code, (_, x, y) in series.items()}
    label_at = _place_labels(heads, names, priority if priority is not None else sorted(series), half)
    traces = []
    for code, (tail, x, y) in series.items():
        name = names.get(code, code)
        labelled = code in label_at
        traces.append(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers+text" if labelled else "lines+markers",
                name=name,
                text=[""] * (len(tail) - 1) + [name] if labelled else None,
                textposition=label_at.get(code),
                marker={"size": [5] * (len(tail) - 1) + [12]},
                line={"width": 2 if labelled else 1},
                opacity=1.0 if labelled else 0.55,
                customdata=[[t.isoformat(), q] for t, q in zip(tail["time"], tail["quadrant"], strict=True)],
                hovertemplate="<b>%{fullData.name}</b> %{customdata[0]}<br>RS-Ratio %{x:.2f}"
                "<br>RS-Momentum %{y:.2f}<br>%{customdata[1]}<extra></extra>",
            )
        )
    axis_lines = [
        {"type": "line", "x0": 100, "x1": 100, "y0": 100 - half, "y1": 100 + half, "line": {"color": "#888"}},
        {"type": "line", "x0": 100 - half, "x1": 100 + half, "y0": 100, "y1": 100, "line": {"color": "#888"}},
    ]
    shapes = [
        {"type": "rect", "x0": 100, "x1": 100 + sx * half, "y0": 100, "y1": 100 + sy * half,
         "fillcolor": color, "opacity": 0.08, "line": {"width": 0}, "layer": "below"}
        for color, sx, sy in QUADRANT_FILLS.values()
    ]  # fmt: skip
    annotations = [
        {"x": 100 + sx * half * 0.92, "y": 100 + sy * half * 0.92, "text": f"<b>{quadrant}</b>",
         "showarrow": False, "xanchor": "right" if sx > 0 else "left", "font": {"color": color, "size": 15}}
        for quadrant, (color, sx, sy) in QUADRANT_FILLS.items()
    ]  # fmt: skip
    axis = {"range": [100 - half, 100 + half], "zeroline": False}
    layout = {
        "shapes": shapes + axis_lines,
        "annotations": annotations,
        "xaxis": {**axis, "title": {"text": f"RS-Ratio (vs {RRG_BENCHMARK})"}},
        "yaxis": {**axis, "title": {"text": "RS-Momentum"}},
    }
    fig = go.Figure(data=traces, layout=layout)
    title = f"Relative Rotation Graph · {day.isoformat()} (꼬리: 최근 {_tail_days(tails)}거래일)"
    return _layout(fig, title, RRG_HEIGHT)


def _tail_days(tails: pd.DataFrame) -> int:
    return int(tails["time"].nunique()) if not tails.empty else 0


def scorecard_chart(card: pd.DataFrame) -> go.Figure:
    """Hit rate with its Wilson 95% interval per method and horizon; 50% is the coin flip. Rows with too
    few signals to judge are drawn faint and say so."""
    judged_rows = card["judged"].astype(bool).tolist()
    labels = [f"{m} {h}d" for m, h in zip(card["method"], card["horizon"], strict=True)]
    rate = card["hit_rate"].astype(float)
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=rate,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (card["ci_high"].astype(float) - rate).tolist(),
                "arrayminus": (rate - card["ci_low"].astype(float)).tolist(),
            },
            marker={
                "color": [METHOD_COLORS.get(m, "#999") for m in card["method"]],
                "opacity": [1.0 if judged else 0.3 for judged in judged_rows],
            },
            text=["" if judged else "too few" for judged in judged_rows],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1f}% %{text}<extra></extra>",
        )
    )
    fig.add_hline(y=50, line={"dash": "dot", "color": "#555"})
    fig.update_yaxes(title_text="hit rate %", range=[0, 100])
    return _layout(fig, "적중률 (hit rate, Wilson 95% CI)", 360)


def overheat_stock_chart(
    history: pd.DataFrame, designated: pd.DataFrame, name: str, symbol: str, day: date
) -> go.Figure:
    """Close and short ratio around a day; designations and ban days marked on trading-day axes."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    days = [t.isoformat() for t in history["time"]]
    close = history["close"].astype(float)
    fig.add_trace(go.Scatter(x=days, y=close, mode="lines", name="종가 (close)"), row=1, col=1)
    fig.add_trace(
        go.Bar(x=days, y=history["short_ratio"].astype(float), name="공매도 비중 % (short ratio)",
               marker={"color": "#1c4fa1"}),
        row=2, col=1,
    )  # fmt: skip
    by_day = dict(zip(days, close, strict=True))
    marks = [t.isoformat() for t in designated["time"] if t.isoformat() in by_day]
    rules = [
        RULE_LABELS.get(int(r), str(r))
        for t, r in zip(designated["time"], designated["rule_type"], strict=True)
        if t.isoformat() in by_day
    ]
    fig.add_trace(
        go.Scatter(x=marks, y=[by_day[t] for t in marks], mode="markers", name="과열 지정 (designated)",
                   marker={"symbol": "triangle-down", "size": 14, "color": "#c8102e"}, text=rules,
                   hovertemplate="%{x}: %{text}<extra></extra>"),
        row=1, col=1,
    )  # fmt: skip
    ban_days = sorted({t for _, row in designated.iterrows() for t in _ban_span(row, days)})
    fig.add_trace(
        go.Scatter(x=ban_days, y=[by_day[t] for t in ban_days], mode="markers", name="공매도 금지일 (ban)",
                   marker={"symbol": "x", "size": 10, "color": "#333"}),
        row=1, col=1,
    )  # fmt: skip
    fig.update_xaxes(type="category", nticks=12)
    fig.update_yaxes(title_text="원", row=1, col=1)
    fig.update_yaxes(title_text="%", row=2, col=1)
    return _layout(fig, f"{name} ({symbol}) · 공매도 비중과 주가, {day.isoformat()} 전후", 620)


def _ban_span(row: pd.Series, days: list[str]) -> list[str]:
    if pd.isna(row["ban_start"]) or pd.isna(row["ban_date"]):
        return []
    first, last = row["ban_start"].isoformat(), row["ban_date"].isoformat()
    return [d for d in days if first <= d <= last]
