"""The web foundation: security headers, fingerprinted compressed assets, CSRF, error pages,
flash messages, and the JSON API left as it was."""

from __future__ import annotations

import gzip
import re
from importlib import resources

import brotli
import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from paddock.app import create_app
from paddock.settings import Settings
from paddock.web.assets import AssetRegistry, choose_encoding, registry
from paddock.web.security import CSRF_COOKIE
from tests.factories import World
from tests.web.conftest import csrf_from, tomorrow

ASSET_URL = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def test_html_pages_carry_the_security_headers(web: TestClient) -> None:
    response = web.get("/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers
    # No inline script or handler anywhere: scripts come from /static only.
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None
    assert re.search(r"\son[a-z]+=", response.text) is None
    assert '<html lang="en">' in response.text


def test_hsts_only_over_https(web_settings: Settings, world: World) -> None:
    with TestClient(create_app(web_settings, sweeper=False), base_url="https://paddock.test") as c:
        response = c.get("/", headers={"accept": "text/html"})
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_api_docs_and_health_still_work(web: TestClient) -> None:
    assert web.get("/healthz").json()["status"] == "ok"
    docs = web.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    sites = web.get("/api/v1/sites", headers={"accept": "application/json"})
    assert sites.status_code == 200 and sites.json()[0]["code"] == "TST"
    missing = web.get("/api/v1/sites/NOPE", headers={"accept": "application/json"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_pages_reference_fingerprinted_assets_served_immutable(web: TestClient) -> None:
    urls = ASSET_URL.findall(web.get("/").text)
    assert any(re.fullmatch(r"/static/app\.[0-9a-f]{10}\.css", u) for u in urls)
    assert any(re.fullmatch(r"/static/vendor/htmx\.min\.[0-9a-f]{10}\.js", u) for u in urls)
    for url in urls:
        response = web.get(url, headers={"accept-encoding": "gzip"})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["etag"]
        assert "accept-encoding" in response.headers["vary"].lower()


def test_assets_are_compressed_by_what_the_client_accepts(web: TestClient) -> None:
    url = registry.url("vendor/htmx.min.js")
    original = registry.get("vendor/htmx.min.js")
    assert original is not None
    raw = web.get(url, headers={"accept-encoding": "br, gzip"}, extensions={})
    assert raw.headers["content-encoding"] == "br"
    # httpx decodes the body: what arrives is the file, and the wire form is much smaller.
    assert raw.content == original.content
    assert len(original.encoded("br")) < len(original.content) / 2
    assert brotli.decompress(original.encoded("br")) == original.content
    gz = web.get(url, headers={"accept-encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(original.encoded("gzip")) == original.content
    plain = web.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == original.content
    again = web.get(url, headers={"accept-encoding": "gzip", "if-none-match": gz.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_plotly_is_served_from_the_installed_wheel(web: TestClient) -> None:
    url = registry.url("vendor/plotly.min.js")
    assert re.fullmatch(r"/static/vendor/plotly\.min\.[0-9a-f]{10}\.js", url)
    response = web.get(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    shipped = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert response.content == shipped


def test_unknown_or_stale_asset_names(web: TestClient) -> None:
    assert web.get("/static/app.0000000000.css").status_code == 404
    assert web.get("/static/nothing.js").status_code == 404
    plain = web.get("/static/app.css")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"


def test_encoding_negotiation_honours_q_values() -> None:
    assert choose_encoding("gzip, deflate, br") == "br"
    assert choose_encoding("br;q=0, gzip") == "gzip"
    assert choose_encoding("gzip;q=0.5, br;q=0") == "gzip"
    assert choose_encoding("*") == "br"
    assert choose_encoding("identity") == "identity"
    assert choose_encoding("") == "identity"


def test_a_changed_file_gets_a_new_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "site.css").write_text("body { color: black; }")
    first = AssetRegistry(tmp_path, external={}).url("site.css")
    (tmp_path / "site.css").write_text("body { color: navy; }")
    second = AssetRegistry(tmp_path, external={}).url("site.css")
    assert first != second
    with pytest.raises(KeyError):
        AssetRegistry(tmp_path, external={}).url("missing.css")


def hold_form(web: TestClient) -> dict[str, str]:
    page = web.get(f"/book/drive?day={tomorrow().isoformat()}")
    starts = re.findall(r'name="starts_at" value="([^"]+)"', page.text)
    assert starts
    return {"starts_at": starts[0]}


def test_a_form_without_its_token_is_refused_with_a_clear_page(web: TestClient) -> None:
    form = hold_form(web)
    response = web.post("/book/drive/hold", data=form)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "security token" in response.text
    assert "Reload the page" in response.text


def test_a_forged_or_foreign_token_is_refused(web: TestClient) -> None:
    form = hold_form(web)
    forged = URLSafeTimedSerializer("another-secret", salt="paddock.web.csrf").dumps(
        web.cookies[CSRF_COOKIE]
    )
    assert web.post("/book/drive/hold", data={**form, "csrf_token": forged}).status_code == 403
    token = csrf_from(web)
    web.cookies.set(CSRF_COOKIE, "x" * 43)  # another browser's cookie
    assert web.post("/book/drive/hold", data={**form, "csrf_token": token}).status_code == 403


def test_a_good_token_passes_as_field_or_htmx_header(web: TestClient) -> None:
    form = hold_form(web)
    token = csrf_from(web)
    ok = web.post("/book/drive/hold", data={**form, "csrf_token": token})
    assert ok.status_code == 303 and ok.headers["location"].endswith("/details")
    by_header = web.post(
        "/book/drive/hold",
        data=hold_form(web),
        headers={"x-csrf-token": token, "hx-request": "true"},
    )
    assert by_header.status_code == 204 and by_header.headers["hx-redirect"].endswith("/details")


def test_htmx_errors_land_in_the_message_area(web: TestClient) -> None:
    response = web.post("/book/drive/hold", data=hold_form(web), headers={"hx-request": "true"})
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#messages"
    assert "<html" not in response.text and 'role="alert"' in response.text


def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(web: TestClient) -> None:
    page = web.get("/no/such/page")
    assert page.status_code == 404 and "Page not found" in page.text
    api = web.get("/api/v1/no-such", headers={"accept": "application/json"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    bad_query = web.get("/ops/bookings?site=TST&q=x&scanned=notabool")
    assert bad_query.status_code in (303, 422)
