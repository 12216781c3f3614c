"""The application: one place that mounts every router."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from paddock import __version__, jobs
from paddock.accounts.access import GUARD, check_app
from paddock.accounts.api import router as accounts_router
from paddock.analytics.api import router as kpi_router
from paddock.bookings import on_loop, per_address
from paddock.bookings.api import manage_router
from paddock.bookings.api import router as bookings_router
from paddock.bookings.desk_api import router as desk_router
from paddock.bootstrap import register_domains
from paddock.capacity.api import router as capacity_router
from paddock.catalog.api import router as catalog_router
from paddock.crm.api import router as crm_router
from paddock.db import async_pool, make_engine, make_session_factory
from paddock.dealers.api import router as dealers_router
from paddock.dealers.campaigns_api import router as campaigns_router
from paddock.dealers.invitations_api import router as invitations_router
from paddock.edge import install_edge, require_content_type
from paddock.hot_routes import HotRoutes
from paddock.http import install_problem_handlers
from paddock.limits import install_range_handlers
from paddock.motorsport.api import router as motorsport_router
from paddock.settings import Settings, get_settings
from paddock.web import install as install_web
from paddock.webhooks.api import router as webhooks_router


def create_app(settings: Settings | None = None, *, sweeper: bool = True) -> FastAPI:
    """The app; `sweeper=False` runs none of the background jobs (`paddock.jobs`)."""
    settings = settings or get_settings()
    engine = make_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        lock_timeout_ms=settings.lock_timeout_ms,
    )
    session_factory = make_session_factory(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = async_pool(
            settings.database_url,
            size=settings.booking_connections,
            lock_timeout_ms=settings.lock_timeout_ms,
        )
        if pool is not None:
            await pool.open()
        app.state.bookings = on_loop.for_app(session_factory, pool)
        running = jobs.start(app) if sweeper else None
        yield
        if running:
            await jobs.stop(running)
        app.state.bookings = on_loop.for_app(session_factory, None)
        if pool is not None:
            await pool.close()
        engine.dispose()

    app = FastAPI(
        title="Paddock",
        version=__version__,
        lifespan=lifespan,
        description="Customer programmes admitted only when the support capacity "
        "exists: experience-centre bookings and customer racing on one capacity core.",
        # Deny by default: every route, JSON or page, passes the access guard
        # (accounts/access.py); public routes are listed there, in one place.
        # A body must be of a type its route takes (edge.py), e.g. JSON for JSON endpoints.
        dependencies=[GUARD, Depends(require_content_type)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    # How the booking endpoint books: in a worker thread, or while the app runs on PostgreSQL
    # on the event loop, on connections of its own (bookings/on_loop.py).
    app.state.bookings = on_loop.for_app(session_factory, None)
    app.state.booking_tally = per_address.booking_tally(settings)
    register_domains()
    install_problem_handlers(app)
    install_range_handlers(app)
    # Routes are matched in order: the busiest endpoint (POST /api/v1/bookings) first.
    app.include_router(bookings_router)
    app.include_router(manage_router)
    app.include_router(desk_router)
    app.include_router(catalog_router)
    app.include_router(capacity_router)
    app.include_router(accounts_router)
    app.include_router(dealers_router)
    app.include_router(campaigns_router)
    app.include_router(invitations_router)
    app.include_router(motorsport_router)
    app.include_router(crm_router)
    app.include_router(webhooks_router)
    app.include_router(kpi_router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # Inside the security headers (added by install_web, so outside this).
    app.add_middleware(HotRoutes, routes={("POST", "/api/v1/bookings")})
    # Outside HotRoutes: body size, NUL and cross-site writes for every route, the hot one too.
    install_edge(
        app,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    # The web pages last: the guest home at "/", HTML error pages for browsers.
    install_web(app)
    check_app(app)
    return app
