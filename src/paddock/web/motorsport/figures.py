"""The planner's heat map: support load against capacity per resource and week, as a plain
Plotly dict (drawn by static/charts.js). Under capacity is blue, full is navy, over is red;
the page draws the scale in HTML (Plotly's colour bar needs inline styles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paddock.motorsport.schemas import LoadRead, ResourceLoadRead, WeekLoad
from paddock.web.charts import figure_json
from paddock.web.dashboard.figures import CONFIG, GRID, INK

OVER = 125  # load / capacity in %, where the scale tops out
LOAD_SCALE = [
    [0.0, "#f7f9fc"],
    [0.2, "#dce8f6"],
    [0.4, "#9dbbe3"],
    [0.6, "#4f7fcc"],
    [0.8, "#0f2d5c"],  # 100 %: every unit taken
    [0.8001, "#e8a33d"],
    [1.0, "#a4161a"],
]


@dataclass(frozen=True)
class Busy:
    """A resource's weeks at or over capacity (the heat map's words)."""

    resource: ResourceLoadRead
    peak: WeekLoad
    full_weeks: list[WeekLoad]
    short_weeks: list[WeekLoad]


def load_of(week: WeekLoad, with_requests: bool) -> int:
    return week.with_open_requests if with_requests else week.committed


def percent(week: WeekLoad, with_requests: bool) -> float | None:
    load = load_of(week, with_requests)
    if week.capacity <= 0:
        return None if load == 0 else float(OVER)
    return round(min(load / week.capacity * 100, OVER), 1)


def busy_resources(load: LoadRead, with_requests: bool) -> list[Busy]:
    out = []
    for resource in load.resources:
        if not resource.weeks:
            continue
        peak = max(
            resource.weeks, key=lambda w: (load_of(w, with_requests) - w.capacity, w.week_start)
        )
        full = [
            w
            for w in resource.weeks
            if w.capacity
            and load_of(w, with_requests) >= w.capacity
            and not _short(w, with_requests)
        ]
        short = [w for w in resource.weeks if _short(w, with_requests)]
        out.append(Busy(resource, peak, full, short))
    return out


def _short(week: WeekLoad, with_requests: bool) -> bool:
    return load_of(week, with_requests) > week.capacity


def load_figure(load: LoadRead, *, with_requests: bool) -> str:
    rows = load.resources
    weeks = rows[0].weeks if rows else []
    x = [w.week_start.strftime("%-d %b") for w in weeks]
    names = [r.name for r in rows]
    z = [[percent(w, with_requests) for w in r.weeks] for r in rows]
    custom = [
        [
            [
                load_of(w, with_requests),
                w.capacity,
                max(load_of(w, with_requests) - w.capacity, 0),
                ", ".join(w.labels) or "no event",
            ]
            for w in r.weeks
        ]
        for r in rows
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "x": x,
            "y": names,
            "z": z,
            "customdata": custom,
            "zmin": 0,
            "zmax": OVER,
            "colorscale": LOAD_SCALE,
            "showscale": False,
            "xgap": 1,
            "ygap": 2,
            "hovertemplate": "%{y}<br>week of %{x}: %{customdata[0]} of %{customdata[1]} "
            "unit(s), short %{customdata[2]}<br>%{customdata[3]}<extra></extra>",
        }
    ]
    layout = {
        "height": max(300, 30 * len(rows) + 110),
        "margin": {"t": 8, "r": 8, "b": 64, "l": 8},
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 12,
            "color": INK,
        },
        "xaxis": {
            "tickangle": -60,
            "showgrid": False,
            "fixedrange": True,
            "type": "category",
            "nticks": 27,
            "linecolor": GRID,
        },
        "yaxis": {
            "autorange": "reversed",
            "automargin": True,
            "showgrid": False,
            "fixedrange": True,
        },
    }
    return figure_json({"data": data, "layout": layout, "config": CONFIG})
