"""KPIs against the year-one targets, computed in SQL with aggregates (sums with CASE, GROUP BY)
over the per-day rollup that database triggers keep exact (`paddock.rollup`), plus the few
bookings of the partial days at a period's edges, read live. No query reads a period's
bookings row by row, so the cost does not grow with the number of bookings.

This module is the facade the interfaces (API, CLI, pages) import; the modules behind it hold
the logic, one use case each (a new KPI goes in the module of its use case, or a new one):

- `scope`: targets, the products that count, the period, the rollup's UTC days;
- `facts`: bookings counted over a period (rollup cells plus the partial days, live);
- `headline`: drivers and the forecast, the dealer share, no-shows, conversion;
- `utilisation` (over `working_time`): per pool, and per pool and hour of day;
- `dealer_figures`: the leaderboard, a dealer's standing, the invitation funnel;
- `months`: the year month by month; `report`: the whole report, as a dict or CSV.

Definitions (also in `paddock kpi --help`):
- **Drivers on the circuit**: the people (a booking's linked person, else its guest's e-mail)
  who drove a circuit product (one with a demand on a circuit module pool: test drives,
  comparisons, deliveries' first miles), checked in or completed, by start time. Their
  **visits** (those bookings; one person may come back) are shown apart; the months count
  visits. Target: the site's own (`Site.drivers_target`; all sites: the sum; 20,000 if unset).
- **Forecast to year end**: drivers so far + the visits to come at the year's people per visit:
  for each remaining day the larger of the run rate (circuit visits per day over the 28 whole
  UTC days before today) and that day's booked pipeline (confirmed or checked-in circuit
  bookings) times the show rate of the 90 days before today.
- **Share from dealers**: of the test drives driven (driving products, checked in or
  completed), those booked through a dealer's invitation (a booking attribution). Target: the
  site's own (`Site.dealer_share_target_bp`; all sites: weighted by the drivers targets; 15 %
  if unset).
- A target with no data yet (no driver, no test drive) has no verdict: `on_track` is None.
- **Conversion rate**: of the test drives prospects drove in the period (a driving visit linked
  to a person while a prospect), those a sale converted (a sale converts the buyer's last
  prospect visit within the window; see `crm.sales`).
- **No-show rate**: no-shows / (no-shows + checked in + completed), all products.
- **Utilisation**: per pool, hours its units were allocated / hours its units worked (shifts or
  the site's hours, less blocks) over whole UTC days (default the last 28).
- **Dealer leaderboard**: per dealer, attributed bookings (not cancelled), drivers, no-shows and
  conversions.
Periods are years of operation from the site's opening day (`Site.opens_on`; all sites: the
first to open), `year` naming the calendar year the period begins in; calendar years where no
opening day is set; in the site's time zone (all sites: the first experience centre's, the
headquarters'). The motorsport support site is no experience centre and counts in none. The
rollup's days are UTC days (the pipeline's buckets too).
"""

from __future__ import annotations

from paddock.analytics.dealer_figures import (
    DealerRank,
    dealer_standing,
    leaderboard,
)
from paddock.analytics.facts import facts
from paddock.analytics.headline import (
    ConversionKpi,
    DealerShareKpi,
    DriversKpi,
    NoShowKpi,
    conversion,
    drivers_and_share,
)
from paddock.analytics.report import (
    CSV_COLUMNS,
    KpiReport,
    report,
    to_csv,
    to_dict,
)
from paddock.analytics.scope import (
    DEALER_SHARE_TARGET,
    DONE,
    DRIVERS_TARGET,
    MAX_UTILISATION_DAYS,
    NOT_BOOKED,
    NOT_RESOURCES,
    PIPELINE,
    RUN_RATE_DAYS,
    SHOW_RATE_DAYS,
    UTILISATION_DAYS,
    KpiScope,
    Period,
    period_of,
    scope_for,
    serial_reads,
    year_bounds,
)
from paddock.analytics.utilisation import (
    PoolUse,
    utilisation,
)

__all__ = [
    "CSV_COLUMNS",
    "ConversionKpi",
    "DEALER_SHARE_TARGET",
    "DONE",
    "DRIVERS_TARGET",
    "DealerRank",
    "DealerShareKpi",
    "DriversKpi",
    "KpiReport",
    "KpiScope",
    "MAX_UTILISATION_DAYS",
    "NOT_BOOKED",
    "NOT_RESOURCES",
    "NoShowKpi",
    "PIPELINE",
    "Period",
    "PoolUse",
    "RUN_RATE_DAYS",
    "SHOW_RATE_DAYS",
    "UTILISATION_DAYS",
    "conversion",
    "dealer_standing",
    "drivers_and_share",
    "facts",
    "leaderboard",
    "period_of",
    "report",
    "scope_for",
    "serial_reads",
    "to_csv",
    "to_dict",
    "utilisation",
    "year_bounds",
]
