"""No header ever carries CR or LF: a sign-in `next` with CRLF (issue 11, finding 11) is not a
place on this site, and redirects are percent-encoded whatever they are given."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.web.auth.pages import safe_next
from tests.web.conftest import PASSWORD, csrf_from

INJECTED = "/ops\r\nSet-Cookie: paddock_session=stolen\r\nX-Evil: 1"


@pytest.mark.parametrize("htmx", [True, False])
def test_a_sign_in_next_with_crlf_sends_no_header_of_its_own(
    web: TestClient, db: Session, htmx: bool
) -> None:
    accounts.create_user(db, email="ops@example.com", role="operations", password=PASSWORD)
    token = csrf_from(web, "/login")
    headers = {"HX-Request": "true"} if htmx else {}
    response = web.post(
        "/login",
        data={
            "email": "ops@example.com",
            "password": PASSWORD,
            "next": INJECTED,
            "csrf_token": token,
        },
        headers=headers,
    )
    assert response.status_code == (204 if htmx else 303), response.text
    target = response.headers["HX-Redirect" if htmx else "Location"]
    assert "\r" not in target and "\n" not in target
    assert target == "/ops"  # the role's home: the `next` was not a path on this site
    assert "x-evil" not in response.headers
    assert all("stolen" not in value for value in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize("target", ["/ops\r\nX: 1", "/ops\nX: 1", "/\x00", "/ops\tx", "/a\x7f"])
def test_safe_next_refuses_control_characters(target: str) -> None:
    assert safe_next(target) == ""


def test_an_htmx_sign_in_prompt_from_a_page_with_crlf_in_its_address_stays_one_header(
    web: TestClient,
) -> None:
    """An anonymous htmx request to a page is sent to sign in (HX-Redirect) with the page it
    came from as `next`, percent-encoded."""
    response = web.get(
        "/ops", headers={"HX-Request": "true", "HX-Current-URL": "/ops?x=\r\nX-Evil: 1"}
    )
    assert response.status_code == 204
    assert "x-evil" not in response.headers
    assert response.headers["HX-Redirect"].startswith("/login?next=/ops%3Fx%3D%0D%0AX-Evil")
