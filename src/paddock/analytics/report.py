"""The whole KPI report (the API's `/kpi` and `paddock kpi`), as a dict or as CSV."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from paddock import csv_files
from paddock.analytics import headline
from paddock.analytics.dealer_figures import DealerRank, leaderboard
from paddock.analytics.scope import UTILISATION_DAYS, period_of, scope_for
from paddock.analytics.utilisation import PoolUse, utilisation
from paddock.db import utcnow


@dataclass
class KpiReport:
    as_of: datetime
    site: str | None
    period_start: datetime
    period_end: datetime
    year_of_operation: int | None  # 1: year one, from the opening day (None: a calendar year)
    drivers: headline.DriversKpi
    dealer_share: headline.DealerShareKpi
    conversion: headline.ConversionKpi
    no_show: headline.NoShowKpi
    utilisation_from: date
    utilisation_to: date
    utilisation: list[PoolUse] = field(default_factory=list)
    leaderboard: list[DealerRank] = field(default_factory=list)


def report(
    session: Session,
    *,
    site_code: str | None = None,
    year: int | None = None,
    now: datetime | None = None,
    window_days: int = 90,
    utilisation_from: date | None = None,
    utilisation_to: date | None = None,
    leaderboard_limit: int = 20,
) -> KpiReport:
    scope = scope_for(session, site_code=site_code)
    period = period_of(scope, year, now or utcnow())
    start, end, until = period.start, period.end, period.until
    use_to = utilisation_to or period.last_day
    use_from = utilisation_from or use_to - timedelta(days=UTILISATION_DAYS)
    drivers, share, no_show = headline.drivers_and_share(session, scope, start, end, period.now)
    return KpiReport(
        as_of=period.now,
        site=site_code,
        period_start=start,
        period_end=end,
        year_of_operation=period.number,
        drivers=drivers,
        dealer_share=share,
        conversion=headline.conversion(session, scope, start, until, window_days),
        no_show=no_show,
        utilisation_from=use_from,
        utilisation_to=use_to,
        utilisation=utilisation(session, scope, use_from, use_to),
        leaderboard=leaderboard(session, scope, start, until, limit=leaderboard_limit),
    )


def to_dict(result: KpiReport) -> dict[str, Any]:
    return asdict(result)


CSV_COLUMNS = ("kpi", "subject", "value", "target", "detail")


def to_csv(result: KpiReport) -> str:
    """One row per figure: headline KPIs, then utilisation per pool, then the leaderboard."""
    out = io.StringIO()
    writer = csv_files.writer(out)  # text neutralised against formulas, numbers kept
    writer.writerow(CSV_COLUMNS)
    d, s, c, n = result.drivers, result.dealer_share, result.conversion, result.no_show
    scope = result.site or "all"
    writer.writerows(
        [
            ("drivers_ytd", scope, d.drivers, d.target, f"year {d.year}"),
            ("visits_ytd", scope, d.visits, "", "circuit visits driven"),
            ("drivers_forecast", scope, d.forecast, d.target, f"run rate {d.run_rate_per_day}/day"),
            ("pipeline_booked", scope, d.pipeline_booked, "", f"show rate {d.show_rate}"),
            ("dealer_share", scope, s.share, s.target, f"{s.from_dealers}/{s.test_drives}"),
            ("conversion_rate", scope, c.rate, "", f"{c.converted}/{c.prospects_drove}"),
            ("no_show_rate", scope, n.rate, "", f"{n.no_shows}/{n.expected}"),
        ]
    )
    period = f"{result.utilisation_from:%Y-%m-%d} to {result.utilisation_to:%Y-%m-%d}"
    writer.writerows(
        (
            "utilisation",
            f"{u.site}/{u.pool}",
            u.rate,
            "",
            f"{u.allocated_hours}h of {u.available_hours}h, {period}",
        )
        for u in result.utilisation
    )
    writer.writerows(
        (
            "dealer_rank",
            r.dealer,
            r.rank,
            "",
            f"drivers {r.drivers}, bookings {r.bookings}, no-shows {r.no_shows}, "
            f"conversions {r.conversions}",
        )
        for r in result.leaderboard
    )
    return out.getvalue()
