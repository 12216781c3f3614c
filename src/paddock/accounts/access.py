"""Who may call each route: deny by default, public by an explicit entry in one list.

Every router, JSON or page, is mounted behind `guard` (app.py, web/__init__.py). For the
route a request matched, the guard:
- lets anyone through when the route is in PUBLIC_ROUTES (the one list of public routes);
- otherwise refuses an anonymous caller (401), and refuses everyone (403) when the route
  declares no rule at all: a route added without a rule is closed, not open.

A route declares who may call it with a `Rule` anywhere in its dependencies: `allow(...)` in
`dependencies=[...]`, or a parameter typed with an alias built on one (`AdminUser`,
`DealerScope`, the pages' `OpsPage`...). Each rule checks its roles itself; several rules on
one route must all pass. The roles of each use case are named once below (BOOKING_DESK...)
and shared by the API and the pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts

from paddock.accounts.models import Role
from paddock.accounts.principals import optional_principal
from paddock.accounts.service import Principal
from paddock.errors import Forbidden, Unauthorized

# The public routes, and why each is. Anything else needs a signed-in caller with a role.
PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    # The catalogue and availability: what a guest browses before booking.
    ("GET", "/api/v1/sites"): "catalogue",
    ("GET", "/api/v1/sites/{code}"): "catalogue",
    ("GET", "/api/v1/products"): "catalogue",
    ("GET", "/api/v1/products/{code}"): "catalogue",
    ("GET", "/api/v1/products/{code}/availability"): "availability",
    # A guest books (throttled per address) and manages their own booking by its token.
    ("POST", "/api/v1/bookings"): "a guest books",
    ("GET", "/api/v1/manage/{token}"): "the guest's own booking",
    ("POST", "/api/v1/manage/{token}/confirm"): "the guest's own booking",
    ("POST", "/api/v1/manage/{token}/move"): "the guest's own booking",
    ("POST", "/api/v1/manage/{token}/cancel"): "the guest's own booking",
    # Invitations: look-up and booking with a code (throttled per address).
    ("GET", "/api/v1/invitations/{code}"): "invitation look-up",
    ("GET", "/api/v1/invitations/{code}/availability"): "invitation look-up",
    ("POST", "/api/v1/invitations/{code}/bookings"): "a guest books with a code",
    # Signing in and out.
    ("POST", "/api/v1/auth/login"): "sign-in",
    ("POST", "/api/v1/auth/logout"): "sign-out (ends the caller's own session, if any)",
    ("GET", "/healthz"): "liveness",
    # Guest pages.
    ("GET", "/"): "guest home",
    ("GET", "/book/{code}"): "guest booking",
    ("POST", "/book/{code}/hold"): "guest booking",
    ("GET", "/b/{token}"): "the guest's own booking",
    ("GET", "/b/{token}/details"): "the guest's own booking",
    ("POST", "/b/{token}/details"): "the guest's own booking",
    ("POST", "/b/{token}/release"): "the guest's own booking",
    ("GET", "/b/{token}/calendar.ics"): "the guest's own booking",
    ("GET", "/b/{token}/qr.svg"): "the guest's own booking",
    ("GET", "/b/{token}/move"): "the guest's own booking",
    ("POST", "/b/{token}/move"): "the guest's own booking",
    ("GET", "/b/{token}/cancel"): "the guest's own booking",
    ("POST", "/b/{token}/cancel"): "the guest's own booking",
    ("GET", "/invite"): "invitation look-up",
    ("GET", "/invite/{code}"): "invitation look-up",
    ("GET", "/invite/{code}/book/{product_code}"): "a guest books with a code",
    ("POST", "/invite/{code}/book/{product_code}/hold"): "a guest books with a code",
    ("GET", "/login"): "sign-in",
    ("POST", "/login"): "sign-in",
    ("POST", "/logout"): "sign-out",
    # "Forgot password" and its link (the same answer for any e-mail; throttled).
    ("GET", "/password/forgot"): "password reset by e-mail",
    ("POST", "/password/forgot"): "password reset by e-mail",
    ("GET", "/password/reset/{token}"): "password reset link (its token is the key)",
    ("POST", "/password/reset/{token}"): "password reset link (its token is the key)",
    # "Find my booking": links to one's bookings by e-mail (the same answer for any; throttled).
    ("GET", "/find"): "find my booking",
    ("POST", "/find"): "find my booking",
    ("GET", "/static/{path}"): "stylesheets, scripts, images",
    ("GET", "/favicon.ico"): "the site's icon",
}

# Starlette's own routes that FastAPI adds (the API documentation): public, read-only.
DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


@dataclass(frozen=True, eq=False)
class Rule:
    """A route's access rule: the roles admitted, and whether an API token may act (tokens
    are dealers' systems; some things only a person does). As a dependency it checks itself
    and gives the principal."""

    roles: frozenset[Role]
    people_only: bool = False
    what: str = ""
    # A page's rule answers an anonymous visitor itself (with the sign-in page).
    page: bool = False

    def __call__(
        self, principal: Annotated[Principal | None, Depends(optional_principal)]
    ) -> Principal:
        if principal is None:
            raise Unauthorized("Sign in, or send an API token as 'Authorization: Bearer <token>'.")
        if principal.role not in self.roles:
            raise Forbidden(f"This needs one of the roles: {', '.join(sorted(self.roles))}.")
        if self.people_only and principal.kind != "user":
            raise Forbidden("An API token cannot do this; sign in as a person.")
        return principal

    def admits(self, role: Role, *, token: bool = False) -> bool:
        return role in self.roles and not (token and self.people_only)


def allow(*roles: Role, people_only: bool = False, what: str = "") -> Rule:
    return Rule(frozenset(roles), people_only=people_only, what=what)


# The roles of each use case, shared by the JSON API and the pages -------------------------
ADMIN, OPERATIONS, COACH, DEALER, MOTORSPORT = (
    Role.ADMIN,
    Role.OPERATIONS,
    Role.COACH,
    Role.DEALER,
    Role.MOTORSPORT,
)
ANY_ROLE = allow(*Role, what="anyone signed in")
ANY_PERSON = allow(*Role, people_only=True, what="a person signed in (not an API token)")
ADMIN_ONLY = allow(ADMIN, what="centre admins")
# The day's bookings and the fleet: operations act, coaches read.
BOOKINGS_READ = allow(ADMIN, OPERATIONS, COACH, what="centre staff")
BOOKING_DESK = allow(ADMIN, OPERATIONS, what="operations")
FLEET_READ = allow(ADMIN, OPERATIONS, COACH, what="centre staff")
FLEET_WRITE = allow(ADMIN, OPERATIONS, what="operations")
# Dealer data: centre staff see every dealer, a dealer's staff and tokens only their own.
DEALER_DATA = allow(ADMIN, OPERATIONS, DEALER, what="centre staff and the dealer's own staff")
CENTRE_STAFF = allow(ADMIN, OPERATIONS, what="centre admins and operations")
KPI_READ = allow(ADMIN, OPERATIONS, MOTORSPORT, what="centre management")
MOTORSPORT_PROGRAMME = allow(ADMIN, MOTORSPORT, what="the motorsport programme")

AdminUser = Annotated[Principal, Depends(ADMIN_ONLY)]
StaffUser = Annotated[Principal, Depends(CENTRE_STAFF)]
PersonUser = Annotated[Principal, Depends(ANY_PERSON)]
CurrentUser = Annotated[Principal, Depends(ANY_ROLE)]
BookingsReader = Annotated[Principal, Depends(BOOKINGS_READ)]
BookingDesk = Annotated[Principal, Depends(BOOKING_DESK)]
FleetReader = Annotated[Principal, Depends(FLEET_READ)]
FleetWriter = Annotated[Principal, Depends(FLEET_WRITE)]
MotorsportUser = Annotated[Principal, Depends(MOTORSPORT_PROGRAMME)]


# The mount guard ---------------------------------------------------------------------------


async def guard(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> None:
    """Mounted on every router: public routes pass, a route without a rule is closed, and
    every other route needs a signed-in caller (its rules then check the roles)."""
    route = request.scope.get("route")
    method = "GET" if request.method == "HEAD" else request.method
    if (method, _path_of(route)) in PUBLIC_ROUTES:
        return
    rules = rules_of(route) if isinstance(route, APIRoute) else ()
    if not rules:
        raise Forbidden("This route has no access rule, so nobody may call it.")
    if principal is None and not any(r.page for r in rules):
        if request.cookies.get("paddock_session"):
            raise Unauthorized("Your session has ended; please sign in again.")
        raise Unauthorized("Sign in, or send an API token as 'Authorization: Bearer <token>'.")


GUARD = Depends(guard)


def _path_of(route: Any) -> str:
    return str(getattr(route, "path_format", None) or getattr(route, "path", ""))


def rules_of(route: APIRoute) -> tuple[Rule, ...]:
    """Every Rule in the route's dependency tree (the route's own and its router's), found
    once per route and kept on it."""
    found: tuple[Rule, ...] | None = route.__dict__.get("paddock_rules")
    if found is None:
        found = tuple(_walk(route.dependant))
        route.__dict__["paddock_rules"] = found
    return found


def _walk(dependant: Any) -> Iterator[Rule]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, Rule):
            yield sub.call
        yield from _walk(sub)


@dataclass(frozen=True)
class RouteAccess:
    """One route as the access matrix sees it."""

    method: str
    path: str
    public: bool
    rules: tuple[Rule, ...]

    def admits(self, role: Role, *, token: bool = False) -> bool:
        return self.public or (
            bool(self.rules) and all(r.admits(role, token=token) for r in self.rules)
        )


def route_table(app: FastAPI) -> list[RouteAccess]:
    """Every route of the app, with whether it is public and the rules it declares."""
    table = []
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        path = context.path_format or context.path or ""
        if path in DOCUMENTATION_PATHS:
            continue
        for method in sorted((context.methods or {"GET"}) - {"HEAD"}):
            rules = rules_of(route) if isinstance(route, APIRoute) else ()
            public = (method, path) in PUBLIC_ROUTES
            table.append(RouteAccess(method, path, public, rules))
    return table


def undeclared(table: Iterable[RouteAccess]) -> list[str]:
    """Routes that are neither public nor declare a rule: nobody may call them."""
    return [f"{r.method} {r.path}" for r in table if not r.public and not r.rules]


def stale_public(table: Iterable[RouteAccess]) -> list[str]:
    """Entries of PUBLIC_ROUTES that match no route (renamed or removed)."""
    present = {(r.method, r.path) for r in table}
    return [f"{m} {p}" for (m, p) in PUBLIC_ROUTES if (m, p) not in present]


def check_app(app: FastAPI) -> None:
    """At start: refuse to serve an app with a route that has no access rule."""
    table = route_table(app)
    missing, stale = undeclared(table), stale_public(table)
    if missing or stale:
        raise RuntimeError(
            "Access rules: "
            + ("; ".join(f"no rule for {r}" for r in missing) if missing else "")
            + ("; ".join(f"public entry for no route: {r}" for r in stale) if stale else "")
        )
