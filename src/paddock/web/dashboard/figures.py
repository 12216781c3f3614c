"""Plotly figures for the management dashboard and the dealer portal, built as plain dicts
(small JSON, no template bundled) from `analytics` results, and drawn by static/charts.js.

Colours are the stylesheet's tokens; every figure has a text or table twin in its template."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from paddock.analytics.series import Funnel, HourlyUtilisation, MonthFigures, cumulative
from paddock.analytics.service import DriversKpi
from paddock.dealers.allotments import AllotmentStatus
from paddock.web.charts import figure_json

INK = "#16191d"
MUTED = "#555e69"
ACCENT = "#a4161a"
BLUE = "#1f4e8c"
LIGHT_BLUE = "#9dbbe3"
GREEN = "#1d6b33"
GRID = "#e3e7ec"
# Utilisation 0..100 %: pale to deep blue (sequential, readable in grey too).
UTILISATION_SCALE = [
    [0.0, "#f7f9fc"],
    [0.15, "#dce8f6"],
    [0.35, "#9dbbe3"],
    [0.6, "#4f7fcc"],
    [1.0, "#0f2d5c"],
]
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"t": 16, "r": 16, "b": 48, "l": 56},
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 13,
            "color": INK,
        },
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "hoverlabel": {"font": {"size": 13}},
        "xaxis": {"gridcolor": GRID, "linecolor": "#9aa3ae", "zeroline": False},
        "yaxis": {"gridcolor": GRID, "linecolor": "#9aa3ae", "zeroline": False},
    }
    layout.update(extra)
    return layout


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    return figure_json({"data": data, "layout": layout, "config": CONFIG})


def _bar(name: str, x: list[str], y: Sequence[Any], color: str, hover: str) -> dict[str, Any]:
    """A bar trace; `hover` says what a bar's y is (after "month: ")."""
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": y,
        "marker": {"color": color},
        "hovertemplate": f"%{{x}}: {hover}<extra></extra>",
    }


def _level(name: str, x: list[str], y: float, color: str, **extra: Any) -> dict[str, Any]:
    """A dashed level across the chart, from the first x to the last (a target)."""
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": [x[0], x[-1]],
        "y": [y, y],
        "line": {"color": color, "width": 2, "dash": "dash"},
        **extra,
    }


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def month_label(month: date) -> str:
    return month.strftime("%b")


def drivers_figure(months: Sequence[MonthFigures], kpi: DriversKpi, now: datetime) -> str:
    """Circuit visits per month (bars) and booked ahead, the cumulative total, the forecast of
    drivers (people) to the year's end and the site's target (right axis)."""
    labels = [month_label(m.month) for m in months]
    done = [m.drivers for m in months]
    running = cumulative(done)
    current = sum(1 for m in months if m.month <= now.date())  # months begun
    actual_x = labels[: max(current, 1)]
    actual_y = running[: max(current, 1)]
    data: list[dict[str, Any]] = [
        _bar("Visits per month", labels, done, BLUE, "%{y:,} visits"),
        _bar("Booked ahead", labels, [m.booked for m in months], LIGHT_BLUE, "%{y:,} booked"),
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Visits so far",
            "x": actual_x,
            "y": actual_y,
            "yaxis": "y2",
            "line": {"color": INK, "width": 3},
            "hovertemplate": "%{x}: %{y:,} so far<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"Forecast {kpi.forecast:,}",
            "x": [actual_x[-1], labels[-1]],
            "y": [actual_y[-1], kpi.forecast],
            "yaxis": "y2",
            "line": {"color": INK, "width": 2, "dash": "dot"},
            "hovertemplate": "Forecast to year end: %{y:,}<extra></extra>",
        },
        _level(
            f"Target {kpi.target:,}",
            labels,
            kpi.target,
            ACCENT,
            yaxis="y2",
            hovertemplate="Year-one target: %{y:,}<extra></extra>",
        ),
    ]
    layout = _layout(
        barmode="stack",
        height=360,
        margin={"t": 16, "r": 72, "b": 48, "l": 56},
        yaxis={"title": {"text": "per month"}, "gridcolor": GRID, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": "cumulative"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "range": [0, max(kpi.target, kpi.forecast, running[-1]) * 1.08],
            "showgrid": False,
            "tickformat": ",d",
            "dtick": 5000 if max(kpi.target, kpi.forecast) <= 30_000 else None,
        },
    )
    return _figure(data, layout)


def rates_figure(months: Sequence[MonthFigures], target: float) -> str:
    """Dealer share of test drives and no-show rate per month, with the site's target."""
    labels = [month_label(m.month) for m in months]
    share = [round(m.dealer_share * 100, 1) if m.dealer_share is not None else None for m in months]
    no_show = [
        round(m.no_show_rate * 100, 1) if m.no_show_rate is not None else None for m in months
    ]
    data: list[dict[str, Any]] = [
        _bar("Test drives from dealers", labels, share, BLUE, "%{y:.1f} % from dealers"),
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "No-show rate",
            "x": labels,
            "y": no_show,
            "line": {"color": MUTED, "width": 2},
            "marker": {"symbol": "diamond"},
            "connectgaps": False,
            "hovertemplate": "%{x}: %{y:.1f} % no-shows<extra></extra>",
        },
        _level(f"Dealer target {target:.0%}", labels, target * 100, ACCENT, hoverinfo="skip"),
    ]
    layout = _layout(
        height=320,
        yaxis={
            "title": {"text": "%"},
            "gridcolor": GRID,
            "rangemode": "tozero",
            "ticksuffix": " %",
        },
    )
    return _figure(data, layout)


def funnel_figure(funnel: Funnel) -> str:
    stages = ["Invited", "Booked", "Drove", "Bought"]
    values = [funnel.invited, funnel.booked, funnel.drove, funnel.bought]
    data = [
        {
            "type": "funnel",
            "y": stages,
            "x": values,
            "textinfo": "value+percent initial",
            "marker": {"color": [LIGHT_BLUE, "#4f7fcc", BLUE, GREEN]},
            "connector": {"line": {"color": GRID}},
            "hovertemplate": "%{y}: %{x:,} (%{percentInitial:.1%} of invited)<extra></extra>",
        }
    ]
    layout = _layout(height=300, margin={"t": 8, "r": 16, "b": 24, "l": 72})
    return _figure(data, layout)


def heat_scale_max(use: HourlyUtilisation) -> int:
    """The colour scale's top in %: 100, or the busiest cell rounded up to 10 (at least 50),
    so a quiet period still shows its pattern; the legend says which."""
    rates = [r for p in use.pools for r in p.rates if r is not None]
    top = max(rates, default=0.0) * 100
    return 100 if top >= 90 else max(50, int(-(-top // 10) * 10))


def heatmap_figure(use: HourlyUtilisation, *, several_sites: bool, scale_max: int = 100) -> str:
    """Pools (rows) by local hour of day (columns): allocated over working unit-hours."""
    hours = use.hours
    rows = [p for p in use.pools if sum(p.available) > 0]
    names = [f"{p.site} · {p.name}" if several_sites else p.name for p in rows]
    z = [[_percent(p.rates[h]) for h in hours] for p in rows]
    custom = [[[round(p.allocated[h], 1), round(p.available[h], 1)] for h in hours] for p in rows]
    data = [
        {
            "type": "heatmap",
            "x": [f"{h:02d}:00" for h in hours],
            "y": names,
            "z": z,
            "customdata": custom,
            "zmin": 0,
            "zmax": scale_max,
            "colorscale": UTILISATION_SCALE,
            "xgap": 2,
            "ygap": 2,
            # Plotly's colour bar sets a style attribute, which the CSP refuses: the page
            # draws the scale as an HTML legend instead (.scale in reports.css).
            "showscale": False,
            "hovertemplate": "%{y}, %{x}: %{z:.0f} % busy<br>%{customdata[0]} h of "
            "%{customdata[1]} h working<extra></extra>",
        }
    ]
    layout = _layout(
        height=max(260, 24 * len(rows) + 90),
        margin={"t": 28, "r": 8, "b": 8, "l": 8},
        xaxis={"side": "top", "showgrid": False, "fixedrange": True, "tickangle": 0},
        yaxis={"autorange": "reversed", "showgrid": False, "automargin": True, "fixedrange": True},
    )
    return _figure(data, layout)


def allotment_figure(months: Sequence[tuple[date, int, int]]) -> str:
    """Places used and left per month (month, places, used)."""
    labels = [
        m.strftime("%b %Y" if i == 0 or m.month == 1 else "%b")
        for i, (m, _, _) in enumerate(months)
    ]
    left = _bar("Left", labels, [max(p - used, 0) for _, p, used in months], "#dce8f6", "%{y} left")
    left["marker"]["line"] = {"color": LIGHT_BLUE, "width": 1}
    data = [_bar("Used", labels, [used for _, _, used in months], BLUE, "%{y} used"), left]
    layout = _layout(
        barmode="stack",
        height=280,
        yaxis={"title": {"text": "places"}, "gridcolor": GRID, "dtick": 1},
    )
    return _figure(data, layout)


def allotment_months(
    statuses: Sequence[AllotmentStatus], months: Sequence[date], default_places: int
) -> list[tuple[date, int, int]]:
    """(month, places, used) for each month, all sites together; a month without an allotment
    yet has the dealer's default places, none used."""
    out = []
    for month in months:
        rows = [s for s in statuses if s.month == month]
        if rows:
            out.append((month, sum(s.places for s in rows), sum(s.used for s in rows)))
        else:
            out.append((month, default_places, 0))
    return out
