"""HTML templates (Jinja2, autoescaped). Figures travel as JSON in <script type="application/json">."""

# ruff: noqa: E501 - HTML markup reads better unwrapped than split at 110 columns.

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

from kis_intel_assets.pages import formatting

BASE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }} · kis-intel</title><link rel="icon" href="data:,">
{% if figures %}<script src="/static/plotly.min.js?v={{ plotly_version }}"></script>{% endif %}
<style>
body { font-family: 'NanumGothic', 'Nanum Gothic', 'Noto Sans KR', sans-serif; margin: 0; color: #222; }
nav { background: #14213d; padding: .6em 1em; } nav a { color: #fff; margin-right: 1.4em; text-decoration: none; }
main { padding: 1em 1.4em; } h1 { font-size: 1.35em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: .9em; } th, td { padding: .25em .6em; border-bottom: 1px solid #ddd; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pos { color: #c8102e; } .neg { color: #1c4fa1; } .note { color: #666; font-size: .9em; }
.switch a { padding: .2em .7em; border: 1px solid #999; border-radius: 3px; margin-right: .3em;
  text-decoration: none; color: #222; } .switch a.on { background: #14213d; color: #fff; }
.empty { font-size: 1.2em; padding: 2em; background: #fff8e1; border: 1px solid #f0d58c; }
form.picker { margin: .6em 0; }
</style></head>
<body><nav><a href="/">kis-intel</a><a href="/sectors">업종 지도</a><a href="/overheat">공매도 과열</a>
<a href="/rotation">업종 순환</a></nav>
<main>{% block main %}{% endblock %}</main>
{% for id, spec in figures.items() %}<script type="application/json" id="{{ id }}-json">{{ spec }}</script>
{% endfor %}{% if figures %}<script>
Promise.all(Array.from(document.querySelectorAll("div[data-figure]"), function (div) {
  var spec = JSON.parse(document.getElementById(div.dataset.figure + "-json").textContent);
  return Plotly.newPlot(div, spec.data, spec.layout, {displaylogo: false, responsive: true});
})).then(function () { document.body.dataset.rendered = "1"; });
</script>{% endif %}</body></html>"""

DATE_PICKER = """<form class="picker" method="get" action="{{ action }}">
<label>날짜 (date) <select name="date" onchange="this.form.submit()">
{% for d in days|reverse %}<option value="{{ d }}"{% if d == day %} selected{% endif %}>{{ d }}</option>{% endfor %}
</select></label>{% for key, value in keep.items() %}<input type="hidden" name="{{ key }}" value="{{ value }}">{% endfor %}
<button type="submit">보기</button></form>"""

EMPTY = """{% extends "base.html" %}{% block main %}<h1>kis-intel</h1>
<p class="empty" id="empty-state">{{ message }}</p>{% endblock %}"""

LANDING = """{% extends "base.html" %}{% block main %}<h1>kis-intel · 한국 주식시장 수급 정보</h1>
<p>{{ n_days }} trading days stored, {{ first }} .. {{ latest }}.</p>
<ul>{% for key, label, href in views %}<li><a id="view-{{ key }}" href="{{ href }}">{{ label }}</a></li>{% endfor %}</ul>
{% endblock %}"""

SECTORS = """{% extends "base.html" %}{% block main %}<h1>업종 지도 · sector map {{ day }}</h1>
{% with action="/sectors", keep={"investor": investor} %}{% include "picker.html" %}{% endwith %}
<p class="switch" id="investor-switch">{% for key, label in investors.items() %}<a data-investor="{{ key }}"
 class="{{ 'on' if key == investor else '' }}" href="{{ investor_links[key] }}">{{ label }}</a>{% endfor %}</p>
<p class="note">Box size: market cap (close × listed shares, point-in-time membership). Colour: the group's net
buying / market cap in basis points (red buying, blue selling). "외국인+기관" is foreign + institution, the flow
the rotation signal uses. Sector numbers come from sector_rotation where the analytics have run.</p>
{% if note %}<p class="note">{{ note }}</p>{% endif %}
{% if figures %}<div id="treemap" data-figure="treemap"></div>{% endif %}
{% if sectors %}<h2>업종별 (per sector)</h2><table id="sector-table"><tr><th>업종</th><th>시장</th><th>종목수</th>
<th>시가총액</th><th>순매수</th><th>강도</th><th>MFI</th><th>source</th></tr>
{% for s in sectors %}<tr data-sector="{{ s.sector_code }}"><td>{{ s.sector_name }}</td><td>{{ s.market }}</td>
<td class="num">{{ s.members }}</td><td class="num">{{ s.market_cap|krw }}</td>
<td class="num {{ 'pos' if s.net > 0 else 'neg' }}">{{ s.net|krw(true) }}</td>
<td class="num">{{ s.intensity_bp|bp }}</td><td class="num">{{ s.money_flow_index|number(1) }}</td>
<td class="note">{{ s.source }}</td></tr>{% endfor %}</table>{% endif %}{% endblock %}"""

OVERHEAT = """{% extends "base.html" %}{% block main %}<h1>공매도 과열종목 · short-selling overheat {{ day }}</h1>
{% with action="/overheat", keep={"market": market, "sort": sort, "order": order} %}{% include "picker.html" %}{% endwith %}
<p class="switch" id="market-filter">{% for m, href in market_links.items() %}<a data-market="{{ m }}"
 class="{{ 'on' if m == market else '' }}" href="{{ href }}">{{ m }}</a>{% endfor %}</p>
<h2>지정 종목 (designated on {{ day }})</h2>
{% if designated %}<table id="designations"><tr>
{% for column, label in [("symbol", "종목코드"), ("name", "종목명"), ("market", "시장"), ("rule_type", "유형"),
  ("price_change_pct", "등락률"), ("short_ratio", "공매도 비중"), ("short_value_multiple", "증가배율"),
  ("avg_short_value_40d", "40일 평균"), ("ban_start", "금지 시작"), ("ban_date", "금지 종료"), ("ban_days", "금지일수")] %}
<th><a data-sort="{{ column }}" href="{{ sort_links[column] }}">{{ label }}{% if column == sort %}
{{ '▲' if order == 'asc' else '▼' }}{% endif %}</a></th>{% endfor %}</tr>
{% for r in designated %}<tr data-symbol="{{ r.symbol }}"><td><a href="/overheat/stock/{{ r.symbol }}?date={{ day }}">{{ r.symbol }}</a></td>
<td>{{ r.name }}</td><td>{{ r.market }}</td><td>{{ r.rule_type|rule }}</td>
<td class="num">{{ r.price_change_pct|pct(2, true) }}</td><td class="num">{{ r.short_ratio|pct }}</td>
<td class="num">{{ r.short_value_multiple|number }}×</td><td class="num">{{ r.avg_short_value_40d|krw }}</td>
<td>{{ r.ban_start|day }}</td><td>{{ r.ban_date|day }}</td><td class="num">{{ r.ban_days }}</td></tr>{% endfor %}
</table>{% else %}<p id="no-designations">No designations on {{ day }}{% if market != "all" %} in {{ market }}{% endif %}.</p>{% endif %}
<h2>지정 근접 종목 (closest to a type ① designation)</h2>
<p class="note">Closeness = mean of three progress ratios capped at 1: price drop / 5%, short ratio / the
previous quarter's threshold, short value multiple / 6× (KOSPI) or 5× (KOSDAQ); 100% = all type ①
conditions met. Stocks traded on fewer than 20 of the 40 baseline days are excluded.
{% for m, t in (thresholds or {}).items() %}{{ m }} threshold {{ t.value|pct }} ({{ t.source }}). {% endfor %}</p>
{% if near_note %}<p class="note">{{ near_note }}</p>{% elif near %}<table id="near"><tr><th>종목코드</th><th>종목명</th>
<th>시장</th><th>근접도</th><th>등락률</th><th>공매도 비중</th><th>기준</th><th>증가배율</th><th>40일 평균</th></tr>
{% for r in near %}<tr data-symbol="{{ r.symbol }}"><td><a href="/overheat/stock/{{ r.symbol }}?date={{ day }}">{{ r.symbol }}</a></td>
<td>{{ r.name }}</td><td>{{ r.market }}</td><td class="num">{{ r.closeness_pct|pct(1) }}</td>
<td class="num">{{ r.price_change_pct|pct(2, true) }}</td><td class="num">{{ r.short_ratio|pct }}</td>
<td class="num">{{ r.quarter_ratio_threshold|pct }}</td><td class="num">{{ r.short_value_multiple|number }}×</td>
<td class="num">{{ r.avg_short_value_40d|krw }}</td></tr>{% endfor %}</table>
{% else %}<p class="note">No eligible stock has short-selling data on {{ day }}.</p>{% endif %}{% endblock %}"""

OVERHEAT_STOCK = """{% extends "base.html" %}{% block main %}<h1>{{ name }} ({{ symbol }}, {{ market }})</h1>
<p><a href="{{ back }}">← 공매도 과열 {{ day }}</a></p>{% if note %}<p class="note">{{ note }}</p>{% endif %}
{% if figures %}<div id="stock" data-figure="stock"></div>{% endif %}
{% if designated %}<h2>지정 이력 (designations in the window)</h2><table id="stock-designations"><tr><th>지정일</th><th>유형</th>
<th>증가배율</th><th>금지</th></tr>{% for r in designated %}<tr><td>{{ r.time|day }}</td><td>{{ r.rule_type|rule }}</td>
<td class="num">{{ r.short_value_multiple|number }}×</td><td>{{ r.ban_start|day }} .. {{ r.ban_date|day }}
({{ r.ban_days }}일)</td></tr>{% endfor %}</table>{% endif %}{% endblock %}"""

ROTATION = """{% extends "base.html" %}{% block main %}<h1>업종 순환 · sector rotation {{ day }}</h1>
{% with action="/rotation" %}{% include "picker.html" %}{% endwith %}
<form class="picker" id="sector-filter" method="get" action="/rotation"
 onsubmit="this.sector.value = Array.from(this.querySelector('select').selectedOptions, o => o.value).join(',')">
<input type="hidden" name="date" value="{{ day }}"><input type="hidden" name="view" value="{{ view }}">
<input type="hidden" name="sector" value="{{ selected|join(',') }}"><label>업종 (sectors) <select id="sector-select" multiple size="6">
{% for s in sectors %}<option value="{{ s.sector_code }}"{% if s.sector_code in selected %} selected{% endif %}>{{ s.sector_name }} ({{ s.market }})</option>{% endfor %}
</select></label> <button type="submit">필터</button>{% if selected %} <a id="sector-clear" href="/rotation?date={{ day }}&amp;view={{ view }}">전체 보기 (all {{ sectors|length }})</a>{% endif %}</form>
<p class="switch" id="view-switch"><a data-view="signal" class="{{ 'on' if view == 'signal' else '' }}" href="{{ view_links.signal }}">신호 (flow-weighted where flows exist)</a><a data-view="price" class="{{ 'on' if view == 'price' else '' }}" href="{{ view_links.price }}">가격만 (price-only RRG)</a></p>
<p class="note" id="benchmark">RS = 100 × sector index / benchmark. Benchmark: {% for market, text in benchmarks.items() %}{{ text }}{% if not loop.last %}; {% endif %}{% endfor %} — each sector against its own market. Labels: the biggest movers whose names fit; hover a line for any other sector.</p>
{% if figures.rrg %}<div id="rrg" data-figure="rrg"></div>{% endif %}
<h2>신호 (signals)</h2><table id="signals"><tr><th>업종</th><th>신호</th><th>방식</th><th>점수</th><th>사분면</th>
<th>RS-Ratio</th><th>RS-Momentum</th><th>근거 (reason)</th></tr>
{% for s in signals %}<tr data-sector="{{ s.sector_code }}"><td>{{ s.sector_name }}</td><td class="signal">{{ s.signal }}</td>
<td class="method">{{ "price" if view == "price" else s.signal_method }}</td>
<td class="num">{{ s.score|number(2) }}</td><td>{{ s.quadrant or "—" }}</td><td class="num">{{ s.rs_ratio|number }}</td>
<td class="num">{{ s.rs_momentum|number }}</td><td class="note">{{ s.reason }}</td></tr>{% endfor %}</table>
<h2>성과표 (scorecard)</h2>{% if scorecard %}<table id="scorecard"><tr><th>method</th><th>horizon</th><th>n</th>
<th>hit rate</th><th>95% CI</th><th>mean IC</th><th>IC t-stat</th><th>IC dates</th><th>period</th></tr>
{% for c in scorecard %}<tr data-method="{{ c.method }}" data-horizon="{{ c.horizon }}"><td>{{ c.method }}</td><td class="num">{{ c.horizon }}d</td><td class="num">{{ c.n_signals }}</td>
{% if c.judged %}<td class="num hit">{{ c.hit_rate|pct(1) }}</td><td class="num">{{ c.ci_low|pct(1) }} – {{ c.ci_high|pct(1) }}</td>
{% else %}<td class="hit too-few" colspan="2">too few signals to judge (n &lt; {{ min_signals }}{% if c.n_signals %}; {{ c.hit_rate|pct(0) }}, CI {{ c.ci_low|pct(0) }} – {{ c.ci_high|pct(0) }}{% endif %})</td>{% endif %}
<td class="num">{{ c.mean_ic|number(3) }}</td><td class="num">{{ c.ic_t_stat|number }}</td>
<td class="num">{{ c.n_ic_dates }}</td><td>{{ c.period_start|day }} .. {{ c.period_end|day }}</td></tr>{% endfor %}
</table>
<p class="note" id="scorecard-notes">signal: the stored signal (flow-weighted where flows exist, price-only elsewhere); price_only: the RRG
rule alone (prices only); placebo: the same signals with the sector labels shuffled <em>within each date</em> (seeded), so each
date keeps its own signals and nothing from another date can leak in — it shows what chance scores (≈ 50%, IC ≈ 0);
momentum: the 20-day relative return, ±1σ across sectors. A row with fewer than {{ min_signals }} signals is not judged:
at that n the 95% interval around 50% is still ±17 points. Consecutive days' signals share most of their forward
window, so the interval is optimistic for long runs of signals; the IC t-stat (Newey-West) accounts for the overlap.</p>
{% if figures.scorecard %}<div id="scorecard-chart" data-figure="scorecard"></div>{% endif %}
{% else %}<p class="note">No scorecard evaluated on or before {{ day }}.</p>{% endif %}{% endblock %}"""


def environment() -> Environment:
    env = Environment(
        loader=DictLoader(
            {
                "base.html": BASE,
                "picker.html": DATE_PICKER,
                "empty.html": EMPTY,
                "landing.html": LANDING,
                "sectors.html": SECTORS,
                "overheat.html": OVERHEAT,
                "overheat_stock.html": OVERHEAT_STOCK,
                "rotation.html": ROTATION,
            }
        ),
        autoescape=select_autoescape(default=True),
    )
    env.filters.update(
        krw=formatting.krw,
        pct=formatting.pct,
        bp=formatting.bp,
        number=formatting.number,
        day=formatting.day_text,
        rule=lambda value: formatting.RULE_LABELS.get(int(value), str(value)),
    )
    return env
