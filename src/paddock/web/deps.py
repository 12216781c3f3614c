"""What every page route shares: the page router (CSRF, signed-in user, HTML errors) and the
role checks, so protecting a page is one line.

    router = page_router(prefix="/dealer")

    @router.get("/dealer")
    def home(request: Request, user: DealerPage) -> HTMLResponse: ...

A visitor who is not signed in is sent to /login?next=<the page>; a signed-in user without the
role gets a 403 page. API tokens never open pages (they are for the JSON API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from paddock.accounts.access import BOOKING_DESK, BOOKINGS_READ, Rule
from paddock.accounts.deps import MaybeUser
from paddock.accounts.models import Role
from paddock.accounts.service import Principal
from paddock.errors import Forbidden
from paddock.web.errors import LoginRequired
from paddock.web.security import verify_csrf

# Where a user lands after signing in without a `next` page. Add your area here.
HOME_BY_ROLE: dict[str, str] = {
    Role.ADMIN: "/ops",
    Role.OPERATIONS: "/ops",
    Role.COACH: "/ops",
    Role.DEALER: "/dealer",
    Role.MOTORSPORT: "/motorsport",
}


async def page_request(request: Request, principal: MaybeUser) -> None:
    """Runs before every page route: marks the request as a page (errors become HTML), puts
    the signed-in user (or None) in `request.state.user` and refuses a bad CSRF token."""
    request.state.page = True
    request.state.user = principal if principal is not None and principal.kind == "user" else None
    await verify_csrf(request)


def page_router(**kwargs: Any) -> APIRouter:
    """An APIRouter for pages: CSRF-checked, user-aware, HTML errors, out of the API schema."""
    dependencies = [Depends(page_request), *kwargs.pop("dependencies", [])]
    return APIRouter(
        dependencies=dependencies,
        include_in_schema=False,
        default_response_class=HTMLResponse,
        **kwargs,
    )


@dataclass(frozen=True, eq=False)
class PageRule(Rule):
    """A page's access rule: a visitor not signed in is sent to the sign-in page, a user
    without the role gets a 403 page; API tokens never open pages."""

    page: bool = True

    def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        user: Principal | None = getattr(request.state, "user", None)
        if user is None:
            raise LoginRequired("Please sign in to open this page.")
        if user.role not in self.roles:
            raise Forbidden(
                f"Your account ({user.role.value}) cannot open this page; it is for "
                f"{_roles_text(self.roles)}."
            )
        return user


def page_roles(*roles: Role | str) -> Any:
    """`Depends(...)` admitting a signed-in person with one of these roles."""
    return Depends(PageRule(frozenset(Role(r) for r in roles), people_only=True))


def page_rule(rule: Rule) -> Any:
    """The pages' side of a use case's rule (accounts.access): the same roles."""
    return page_roles(*rule.roles)


def _roles_text(roles: frozenset[Role]) -> str:
    names = {
        Role.ADMIN: "centre admins",
        Role.OPERATIONS: "operations staff",
        Role.COACH: "coaches",
        Role.DEALER: "dealer staff",
        Role.MOTORSPORT: "the motorsport programme",
    }
    ordered = [names[r] for r in Role if r in roles]
    return ", ".join(ordered[:-1]) + " and " + ordered[-1] if len(ordered) > 1 else ordered[0]


def can(user: Principal | None, *roles: Role | str) -> bool:
    """For templates and routes: may this user do what these roles may?"""
    return user is not None and user.role in {Role(r) for r in roles}


# One alias per audience. A route takes `user: OpsPage` and is protected.
OpsPage = Annotated[Principal, page_rule(BOOKINGS_READ)]
OpsWriter = Annotated[Principal, page_rule(BOOKING_DESK)]
SignedInPage = Annotated[Principal, page_roles(*Role)]
