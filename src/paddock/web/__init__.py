"""The web interface: server-rendered pages (Jinja2 + htmx) on the domain services.

`install(app)` adds the security headers, HTML error pages, the static assets and every page
router; app.py calls it after the JSON routers. See README.md in this folder.
"""

from __future__ import annotations

from fastapi import FastAPI

from paddock.web import assets
from paddock.web.admin.dealers import router as admin_dealers_router
from paddock.web.admin.products import router as admin_products_router
from paddock.web.admin.sites import router as admin_sites_router
from paddock.web.admin.users import router as admin_users_router
from paddock.web.auth.pages import router as auth_router
from paddock.web.auth.password_pages import router as password_router
from paddock.web.dashboard.pages import router as dashboard_router
from paddock.web.dealer.campaigns import router as dealer_campaigns_router
from paddock.web.dealer.pages import router as dealer_router
from paddock.web.errors import install_error_pages
from paddock.web.guest.find_pages import router as find_router
from paddock.web.guest.pages import router as guest_router
from paddock.web.motorsport.pages import router as motorsport_router
from paddock.web.ops.desk import router as ops_desk_router
from paddock.web.ops.fleet import router as fleet_router
from paddock.web.ops.pages import router as ops_router
from paddock.web.ops.run_sheet import router as run_sheet_router
from paddock.web.security import SecurityHeadersMiddleware

PAGE_ROUTERS = (
    auth_router,
    fleet_router,
    ops_desk_router,
    run_sheet_router,
    ops_router,
    dashboard_router,
    dealer_campaigns_router,
    dealer_router,
    motorsport_router,
    admin_users_router,
    admin_dealers_router,
    admin_products_router,
    admin_sites_router,
    guest_router,
    password_router,
    find_router,
)


def install(app: FastAPI) -> None:
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_pages(app)
    app.include_router(assets.router)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    # Compress the bundles now, in the background, so the first visitor does not wait (read
    # from the cache when `paddock serve` made it before starting this worker).
    assets.registry.cache = app.state.settings.cache_dir / "assets"
    assets.registry.warm_in_background()
