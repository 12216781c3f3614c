"""Whose portal a page shows. Dealer staff always see their own dealer (the `Scope` of their
account, exactly as in the API: naming another dealer is "not found"); a centre admin picks a
dealer (`?dealer=D-ATL-001`, carried on every link and form of the portal). Either way the
portal then reads and writes through a scope narrowed to that one dealer, so no page can mix
in another dealer's rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts.models import Role
from paddock.accounts.service import Principal, Scope
from paddock.capacity.models import Site
from paddock.dealers import service as dealers
from paddock.dealers.models import Campaign, Dealer
from paddock.errors import Invalid, NotFound
from paddock.http import SessionDep
from paddock.web.deps import page_roles

DealerPage = Annotated[Principal, page_roles(Role.DEALER, Role.ADMIN)]


@dataclass(frozen=True)
class Portal:
    user: Principal
    scope: Scope  # always this one dealer's
    dealer: Dealer
    staff: bool  # a centre admin looking at a dealer (not the dealer's own staff)
    time_zone: str  # the dealer's home site's, else the headquarters'

    @property
    def query(self) -> str:
        """What every link inside the portal carries (the chosen dealer, for admins)."""
        return f"?dealer={self.dealer.code}" if self.staff else ""

    def url(self, path: str, **params: object) -> str:
        pairs = [(k, v) for k, v in params.items() if v not in (None, "")]
        if self.staff:
            pairs.insert(0, ("dealer", self.dealer.code))
        return path + ("?" + urlencode(pairs) if pairs else "")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def open_portal(session: Session, user: Principal, dealer_code: str | None) -> Portal | None:
    """The portal of the user's dealer, or of the dealer an admin chose; None when an admin
    has not chosen yet."""
    scope = Scope.of(user)
    code = (dealer_code or "").strip()
    if scope.dealer_id is not None:
        if code:
            dealer = dealers.get_dealer(session, code=code, scope=scope)  # another: not found
        else:
            found = session.get(Dealer, scope.dealer_id)
            if found is None:
                raise NotFound("Your account's dealer no longer exists; ask the centre.")
            dealer = found
    elif code:
        dealer = dealers.get_dealer(session, code=code, scope=scope)
    else:
        return None
    zone = _zone(session, dealer.home_site_id)
    staff = scope.dealer_id is None
    return Portal(user, Scope(dealer.id, scope.actor), dealer, staff=staff, time_zone=zone)


def portal_campaign(session: Session, portal: Portal, campaign_id: int) -> Campaign:
    """A campaign of the portal's dealer (an admin's portal never shows another dealer's)."""
    campaign = dealers.get_campaign(session, scope=portal.scope, campaign_id=campaign_id)
    if campaign.dealer_id != portal.dealer.id:
        raise NotFound(f"No campaign {campaign_id}.")
    return campaign


def required_portal(session: SessionDep, user: DealerPage, dealer: str = "") -> Portal:
    """A page's dependency: the portal, for pages that need a dealer (an admin who chose none
    is asked to)."""
    portal = open_portal(session, user, dealer)
    if portal is None:
        raise Invalid("Choose a dealer first: open the dealer portal and pick one.")
    return portal


DealerPortal = Annotated[Portal, Depends(required_portal)]


@dataclass(frozen=True)
class PortalCampaign:
    """A campaign page's portal and campaign (`/{campaign_id}` of the portal's dealer)."""

    portal: Portal
    campaign: Campaign

    def url(self, anchor: str = "") -> str:
        """The campaign's page in the portal (with `#anchor`)."""
        return self.portal.url(f"/dealer/campaigns/{self.campaign.id}") + anchor


def required_campaign(
    session: SessionDep, portal: DealerPortal, campaign_id: int
) -> PortalCampaign:
    return PortalCampaign(portal, portal_campaign(session, portal, campaign_id))


CampaignPage = Annotated[PortalCampaign, Depends(required_campaign)]


def _zone(session: Session, site_id: int | None) -> str:
    query = select(Site.time_zone)
    query = query.where(Site.id == site_id) if site_id else query.order_by(Site.id).limit(1)
    return session.scalar(query) or "UTC"
