"""CSV import of invitees: a per-row report, and nothing half-imported."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.dealers import imports, service
from paddock.dealers.models import InvitationCode, Invitee
from paddock.errors import Invalid
from tests.dealers.conftest import STAFF, make_dealer_world, scope_of

GOOD = """name,email,phone,consent,product,note
Ann Lee,ann@example.com,+1 404 555 0101,yes,drive,Prefers mornings
Bob Stone,bob@example.com,,no,,
"""

MIXED = """Full Name;E-mail;Phone;Consent;Product;Notes;Shoe size
Ann Lee;ann@example.com;+1 404 555 0101;yes;drive;
;nobody@example.com;;;;
Cara Diaz;not-an-email;;;;
Dan Park;dan@example.com;call me maybe;;;
Eve Moss;eve@example.com;;perhaps;;
Fay Wong;fay@example.com;;;sim;
Gus Hale;ANN@example.com;;;;
Hal Ito;hal@example.com;;1;;
"""


def _count(session: Session) -> tuple[int, int]:
    session.rollback()
    invitees = session.scalar(select(func.count()).select_from(Invitee)) or 0
    codes = session.scalar(select(func.count()).select_from(InvitationCode)) or 0
    return invitees, codes


def test_dry_run_by_default_writes_nothing(session: Session) -> None:
    dw = make_dealer_world(session)
    report = imports.import_invitees(
        session, scope=scope_of(dw.north), campaign_id=dw.campaign.id, text=GOOD
    )
    assert not report.committed and report.accepted == 2 and report.rejected == 0
    assert _count(session) == (0, 0)


def test_commit_writes_all_with_personal_codes(session: Session) -> None:
    dw = make_dealer_world(session)
    report = imports.import_invitees(
        session, scope=scope_of(dw.north), campaign_id=dw.campaign.id, text=GOOD, commit=True
    )
    assert report.committed and report.written == 2
    assert _count(session) == (2, 2)
    codes = {r.code for r in report.rows}
    assert len(codes) == 2 and all(service.CODE_PATTERN.match(c) for c in codes)
    invitation = service.get_invitation(session, code=report.rows[0].code.lower())
    assert invitation.kind == "personal" and invitation.invitee_name == "Ann Lee"
    assert invitation.uses_left == 1
    rows = service.list_invitees(session, scope=STAFF, campaign_id=dw.campaign.id)
    assert rows[0].invitee.consent_marketing is True and rows[1].invitee.consent_marketing is False
    assert rows[0].invitee.note == "Prefers mornings"


def test_each_rejected_row_says_why(session: Session) -> None:
    dw = make_dealer_world(session)
    report = imports.import_invitees(
        session, scope=scope_of(dw.north), campaign_id=dw.campaign.id, text=MIXED
    )
    by_line = {r.line: r for r in report.rows}
    assert by_line[2].accepted
    assert by_line[3].reasons == ["name is missing"]
    assert "not valid" in by_line[4].reasons[0]
    assert "phone" in by_line[5].reasons[0]
    assert "consent 'perhaps'" in by_line[6].reasons[0]
    assert "product 'sim' is not part of this campaign" in by_line[7].reasons[0]
    assert by_line[8].reasons == ["duplicate of line 2 (same e-mail)"]
    assert by_line[9].accepted
    assert report.accepted == 2 and report.rejected == 6
    assert report.warnings == ["column 'Shoe size' is not known and was ignored"]


def test_commit_with_rejections_writes_nothing_unless_partial_accepted(session: Session) -> None:
    dw = make_dealer_world(session)
    scope = scope_of(dw.north)
    with pytest.raises(imports.ImportRefused) as refused:
        imports.import_invitees(
            session, scope=scope, campaign_id=dw.campaign.id, text=MIXED, commit=True
        )
    assert refused.value.extra["report"]["rejected"] == 6
    assert _count(session) == (0, 0)
    report = imports.import_invitees(
        session,
        scope=scope,
        campaign_id=dw.campaign.id,
        text=MIXED,
        commit=True,
        accept_partial=True,
    )
    assert report.committed and report.written == 2
    assert _count(session) == (2, 2)
    # Importing the same file again: everyone already invited, nothing new.
    again = imports.import_invitees(
        session,
        scope=scope,
        campaign_id=dw.campaign.id,
        text=GOOD,
        commit=True,
        accept_partial=True,
    )
    assert again.written == 1  # bob is new; ann was imported before
    assert "already invited in this campaign" in again.rows[0].reasons


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name,phone\nAnn,123\n", r"lacks column\(s\): email"),
        ("name,email\n", "no invitees"),
    ],
)
def test_unusable_files_are_refused_whole(session: Session, text: str, message: str) -> None:
    dw = make_dealer_world(session)
    with pytest.raises(Invalid, match=message):
        imports.import_invitees(
            session, scope=STAFF, campaign_id=dw.campaign.id, text=text, commit=True
        )


def test_first_and_last_name_columns_and_bom(session: Session) -> None:
    dw = make_dealer_world(session)
    text = imports.decode("\ufefffirst_name,last_name,email\nAnn,Lee,ann@example.com\n".encode())
    report = imports.import_invitees(
        session, scope=STAFF, campaign_id=dw.campaign.id, text=text, commit=True
    )
    assert report.rows[0].name == "Ann Lee" and report.written == 1
    with pytest.raises(Invalid, match="UTF-8"):
        imports.decode("name,email\nJosé,j@example.com\n".encode("latin-1"))


def test_http_import_dry_run_refusal_and_commit(client: TestClient, session: Session) -> None:
    dw = make_dealer_world(session)
    token = accounts.create_token(session, dealer_id=dw.north.id, name="CRM", actor="t")
    h = {"Authorization": f"Bearer {token.secret}", "Content-Type": "text/csv"}
    url = f"/api/v1/campaigns/{dw.campaign.id}/invitees/import"
    dry = client.post(url, content=MIXED, headers=h)
    assert dry.status_code == 200 and dry.json()["rejected"] == 6
    refused = client.post(url + "?commit=true", content=MIXED, headers=h)
    assert refused.status_code == 422
    assert refused.json()["report"]["rows"][1]["reasons"] == ["name is missing"]
    assert _count(session) == (0, 0)
    done = client.post(url + "?commit=true", content=GOOD, headers=h)
    assert done.status_code == 201 and done.json()["written"] == 2
    exported = client.get(f"/api/v1/campaigns/{dw.campaign.id}/invitees.csv", headers=h)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0].startswith("name,email,phone,consent")
    assert "/invite/" in exported.text and "ann@example.com" in exported.text
