"""Breakdowns behind the management dashboard and the dealer portal, computed in SQL like the
headline KPIs (`analytics.service`); a facade over `months`, `utilisation` and
`dealer_figures`:

- **Months** (`monthly`): per month of a year, drivers on the circuit, test drives and those
  from dealers, no-shows and circuit bookings still confirmed (the booked pipeline), from the
  per-day rollup plus the partial days at the year's edges; optionally for one dealer. Months
  are months of the rollup's UTC days (a booking late on a month's last evening west of UTC
  counts in the next month); the year's edges follow the site's zone, so the months add up
  to the headline figures exactly.
- **Utilisation by pool and hour of day** (`utilisation_by_hour`): allocated unit-hours over
  working unit-hours of each pool the experiences use, per local hour of the day, over whole
  UTC days. Allocations are grouped in SQL per pool by the hours they start and end in, and
  a sweep over the hours turns those edges into seconds per hour; working time comes from
  the units' weekly patterns less blocks (a few hundred units, not rows).
- **Invitation funnel** (`invitation_funnel`): of the people a dealer invited in a period,
  how many booked (a booking that was not cancelled), drove (checked in or completed) and
  bought (a sale converted their visit), counted once each, in one grouped query.
"""

from __future__ import annotations

from paddock.analytics.dealer_figures import Funnel, invitation_funnel
from paddock.analytics.months import MonthFigures, cumulative, monthly
from paddock.analytics.utilisation import HourlyUtilisation, PoolHours, utilisation_by_hour

__all__ = [
    "Funnel",
    "HourlyUtilisation",
    "MonthFigures",
    "PoolHours",
    "cumulative",
    "invitation_funnel",
    "monthly",
    "utilisation_by_hour",
]
