"""Shared invitation codes a dealer chooses (issue 11, finding 7: "shared codes chosen by
dealers are words: many guessable"): easy ones are refused with a 422 that says what makes a
good code; generated codes stay random; the demo's shared codes pass the same rule."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.dealers import rules, service
from paddock.dealers.models import Dealer, InvitationCode
from paddock.demo import loader
from paddock.errors import Invalid
from tests.auth import sign_in
from tests.dealers.conftest import STAFF, make_dealer_world
from tests.dealers.test_demo import TODAY


@pytest.mark.parametrize(
    "weak",
    ["SPRING-GT", "SPRING-2026", "porsche 911", "VIP-GT3-26", "FRIENDS-10", "AB12", "AAAA-1111"],
)
def test_easy_codes_are_refused_when_a_dealer_chooses_one(session: Session, weak: str) -> None:
    dw = make_dealer_world(session)
    with pytest.raises(Invalid, match="easy to guess") as refused:
        service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code=weak)
    assert "at least 8 letters and digits" in refused.value.detail
    generated = service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id)
    assert len(generated.code) == 14  # generated codes stay as they are


def test_an_easy_code_is_a_422_that_says_what_makes_a_good_one(
    client: TestClient, session: Session
) -> None:
    dw = make_dealer_world(session)
    sign_in(client, session, "dealer", dealer=dw.north.code)
    path = f"/api/v1/campaigns/{dw.campaign.id}/codes"
    refused = client.post(path, json={"code": "spring-gt"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    detail = refused.json()["detail"]
    assert "SPRING-GT is easy to guess" in detail and "two digits" in detail
    assert client.post(path, json={"code": "SPRING-K7QM-4X"}).status_code == 201


def test_the_demo_chooses_codes_as_a_dealer_should(session: Session) -> None:
    loader.load(session, seed=7, today=TODAY, days_back=1, days_ahead=1)
    shared = session.execute(
        select(InvitationCode.code, Dealer.code)
        .join(Dealer, Dealer.id == InvitationCode.dealer_id)
        .where(InvitationCode.kind == "shared")
    ).all()
    assert shared
    weak = [code for code, dealer in shared if rules.code_weaknesses(code, dealer_code=dealer)]
    assert weak == []


def test_the_dealers_own_code_counts_for_nothing(session: Session) -> None:
    dw = make_dealer_world(session)  # the campaign is D-NYC-001's
    for weak in ("NYC001-SPRING", "D-NYC-001-VIP", "nyc001-drive-26"):
        with pytest.raises(Invalid, match="D-NYC-001 in it is no secret"):
            service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code=weak)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="NYC001-K7QM-4XPD")
