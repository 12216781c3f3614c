"""Plotly figures for pages: built in Python (plotly.graph_objects or a plain dict), embedded
as a JSON data block and drawn by static/charts.js with the Plotly bundle served locally."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plotly's figure classes weigh tens of MB; pages build plain dicts
    from plotly.graph_objects import Figure


def figure_json(figure: Figure | dict[str, Any]) -> str:
    """The figure as JSON that is safe inside <script type="application/json"> (no `</`)."""
    text = json.dumps(figure) if isinstance(figure, dict) else figure.to_json()
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")
