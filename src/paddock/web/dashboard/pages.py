"""The management dashboard: will the centre reach its year-one targets (drivers and the share
via dealers, set per site; year one from the site's opening day)? Drivers against the target
with the forecast, the dealer share, conversion, no-shows, the
utilisation heat map by pool and hour, the invitation funnel and the dealer leaderboard, for
one site or all. Read-only: admins and operations staff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from paddock.accounts.models import Role
from paddock.accounts.service import Principal
from paddock.analytics import series
from paddock.analytics import service as analytics
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.errors import Invalid, NotFound
from paddock.http import SessionDep
from paddock.web.dashboard import figures
from paddock.web.deps import can, page_roles, page_router
from paddock.web.rendering import render

router = page_router(prefix="/dashboard")
ManagerPage = Annotated[Principal, page_roles(Role.ADMIN, Role.OPERATIONS)]
LEADERBOARD_ROWS = 10
FIRST_YEAR = 2015  # where no site sets its opening day: Atlanta opened in May 2015 (press)


def _period(
    session: Session, site_code: str | None, year: int | None, now: datetime
) -> tuple[analytics.KpiScope, analytics.Period]:
    scope = analytics.scope_for(session, site_code=site_code)
    this_year = now.astimezone(scope.zone).year
    first = _first_year(scope)
    if not first <= (year or this_year) <= this_year + 1:
        raise Invalid(f"Choose a year from {first} to {this_year + 1}.")
    return scope, analytics.period_of(scope, year, now)


def _first_year(scope: analytics.KpiScope) -> int:
    return scope.opens_on.year if scope.opens_on else FIRST_YEAR


@router.get("")
def dashboard(
    request: Request,
    session: SessionDep,
    user: ManagerPage,
    site: str = "",
    year: int | None = None,
) -> HTMLResponse:
    now = utcnow()
    sites = list(catalog.list_sites(session))
    site_code = site.strip().upper() or None
    if site_code and site_code not in {s.code for s in sites}:
        raise NotFound(f"No site with code '{site}'.")
    scope, period = _period(session, site_code, year, now)
    drivers, share, no_show = analytics.drivers_and_share(
        session, scope, period.start, period.end, now
    )
    conversion = analytics.conversion(session, scope, period.start, period.until, 90)
    leaderboard = analytics.leaderboard(
        session, scope, period.start, period.until, limit=LEADERBOARD_ROWS
    )
    months = series.monthly(session, year=period.year, site_code=site_code, now=now)
    use_to = period.last_day
    use_from = use_to - timedelta(days=analytics.UTILISATION_DAYS)
    hourly = series.utilisation_by_hour(
        session, day_from=use_from, day_to=use_to, site_code=site_code, now=now
    )
    funnel = series.invitation_funnel(session, since=period.start, until=period.until)
    several = site_code is None and len({p.site for p in hourly.pools}) > 1
    scale_max = figures.heat_scale_max(hourly)
    return render(
        request,
        "dashboard/home.html",
        {
            "sites": sites,
            "site_code": site_code or "",
            "period": period,
            "years": list(range(now.year + 1, max(_first_year(scope), now.year - 4) - 1, -1)),
            "scope": scope,
            "now": now,
            "drivers": drivers,
            "share": share,
            "conversion": conversion,
            "no_show": no_show,
            "months": months,
            "leaderboard": leaderboard,
            "hourly": hourly,
            "busiest": sorted(
                (p for p in hourly.pools if p.rate is not None), key=lambda p: -(p.rate or 0)
            ),
            "funnel": funnel,
            "several_sites": several,
            "dealer_links": can(user, Role.ADMIN),
            "drivers_chart": figures.drivers_figure(months, drivers, now),
            "rates_chart": figures.rates_figure(months, scope.dealer_share_target),
            "heatmap_chart": figures.heatmap_figure(
                hourly, several_sites=several, scale_max=scale_max
            ),
            "scale_max": scale_max,
            "funnel_chart": figures.funnel_figure(funnel),
            "share_target": scope.dealer_share_target,
        },
    )
