"""Static assets with fingerprinted names, compressed once and kept in memory.

`asset("app.css")` gives `/static/app.3f2a9c1e0b.css`: the content hash is in the URL, so the
response can be cached for a year as immutable and a changed file gets a new URL. Each file is
compressed (brotli and gzip) the first time a client asks for that encoding, or ahead of time by
`warm()`, and served from memory with an ETag. Files come from `paddock/static/` and from a few
named sources elsewhere (Plotly's bundle ships inside the installed `plotly` wheel, so it is
served from there instead of being committed).
"""

from __future__ import annotations

import fcntl
import functools
import gzip
import hashlib
import mimetypes
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import brotli
from fastapi import APIRouter, Request
from fastapi.responses import Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_LENGTH = 10
COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".map", ".ics", ".html", ".xml"}
# Brotli's best quality takes seconds on a megabyte-sized bundle; a lower one is within 10 %.
BROTLI_BEST_UP_TO = 256 * 1024


def plotly_bundle() -> bytes:
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()


_STRING = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*""")


def plotly_css(bundle: str) -> str:
    """Plotly's own stylesheet, taken from the bundle. Plotly normally injects these rules
    as an inline <style>, which the CSP refuses; it skips that when the page already has an
    element `#plotly.js-style-global.no-inline-styles` (our <link> to this file)."""
    start = bundle.find('{"X,X div"')
    if start < 0:
        return "/* Plotly's style rules were not found in this bundle version. */\n"
    rules: list[str] = []
    at = start + 1
    while bundle[at] != "}":
        key = _STRING.match(bundle, at)
        if key is None:
            break
        at = key.end()
        if bundle[at] != ":":
            break
        value = _STRING.match(bundle, at + 1)
        if value is None:
            break
        at = value.end()
        selector = _literal(key.group(1))
        selector = re.sub(r"^,", " ,", selector)
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{_literal(value.group(1))}}}")
        if bundle[at] == ",":
            at += 1
    header = "/* Plotly's style rules, extracted from the bundle by paddock.web.assets. */\n"
    return header + "\n".join(rules) + "\n"


def _literal(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


_INLINE_STYLE = re.compile(
    r'document\.getElementById\("([0-9a-f]{16,64})"\)\)\{var (\w+)=document\.createElement'
    r'\("style"\);\2\.id="\1",\2\.textContent='
)


@functools.cache
def plotly_inline_styles() -> dict[str, str]:
    """Stylesheets the bundle injects at load when no element has their id (the map
    library's): id -> CSS. Pages link them under those ids, so nothing is injected."""
    bundle = plotly_bundle().decode()
    found: dict[str, str] = {}
    for match in _INLINE_STYLE.finditer(bundle):
        text = _STRING.match(bundle, match.end())
        if text is not None:
            found[match.group(1)] = _literal(text.group(1))
    return found


# Assets that are not files under static/: logical name -> loader.
EXTERNAL_SOURCES: dict[str, Callable[[], bytes]] = {
    "vendor/plotly.min.js": plotly_bundle,
    "vendor/plotly.css": lambda: plotly_css(plotly_bundle().decode()).encode(),
    "vendor/plotly-extra.css": lambda: "\n".join(plotly_inline_styles().values()).encode(),
}


@dataclass
class Asset:
    name: str
    content: bytes
    digest: str
    media_type: str
    _encoded: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url_name(self) -> str:
        """`app.css` -> `app.<digest>.css`; `vendor/htmx.min.js` -> `vendor/htmx.min.<d>.js`."""
        stem, dot, suffix = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{suffix}" if dot else f"{self.name}.{self.digest}"

    @property
    def compressible(self) -> bool:
        return Path(self.name).suffix in COMPRESSIBLE and len(self.content) > 256

    def encoded(self, encoding: str, cache: Path | None = None) -> bytes:
        """The body in `encoding` ('br', 'gzip' or 'identity'), compressed once and kept; with
        a cache folder, once per machine (processes share the file)."""
        if encoding == "identity":
            return self.content
        with self._lock:
            body = self._encoded.get(encoding)
            if body is None:
                body = self._from_cache(encoding, cache) if cache else None
                if body is None:
                    body = _compress(self.content, encoding)
                self._encoded[encoding] = body
            return body

    def _from_cache(self, encoding: str, folder: Path) -> bytes:
        path = folder / f"{self.name.replace('/', '_')}.{self.digest}.{encoding}"
        if path.exists():
            return path.read_bytes()
        folder.mkdir(parents=True, exist_ok=True)
        # One process compresses; the others wait for its file instead of doing it again.
        with open(folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():
                return path.read_bytes()
            body = _compress(self.content, encoding)
            partial = path.with_name(path.name + f".{os.getpid()}.tmp")
            partial.write_bytes(body)
            partial.replace(path)
            return body


def _compress(content: bytes, encoding: str) -> bytes:
    if encoding == "br":
        quality = 11 if len(content) <= BROTLI_BEST_UP_TO else 9
        return bytes(brotli.compress(content, quality=quality, mode=brotli.MODE_TEXT))
    if encoding == "gzip":
        return gzip.compress(content, compresslevel=9, mtime=0)
    raise ValueError(f"unknown encoding {encoding}")


class AssetRegistry:
    def __init__(
        self, directory: Path = STATIC_DIR, external: dict[str, Callable[[], bytes]] | None = None
    ) -> None:
        self._directory = directory
        self._external = dict(EXTERNAL_SOURCES if external is None else external)
        self._by_name: dict[str, Asset] | None = None
        self._by_url: dict[str, Asset] = {}
        self._lock = threading.Lock()
        self._warming = False
        # Where compressed bodies are kept between processes (set by the app from settings).
        self.cache: Path | None = None

    def _load(self) -> dict[str, Asset]:
        if self._by_name is not None:
            return self._by_name
        with self._lock:
            if self._by_name is None:
                found: dict[str, Asset] = {}
                for path in sorted(self._directory.rglob("*")):
                    if path.is_file() and not path.name.startswith("."):
                        name = path.relative_to(self._directory).as_posix()
                        found[name] = _make_asset(name, path.read_bytes())
                for name, loader in self._external.items():
                    found[name] = _make_asset(name, loader())
                self._by_url = {a.url_name: a for a in found.values()}
                self._by_name = found
        return self._by_name

    def url(self, name: str) -> str:
        """The fingerprinted URL of a logical asset name; a typo fails loudly at render time."""
        asset = self._load().get(name)
        if asset is None:
            raise KeyError(f"no static asset named '{name}'")
        return f"/static/{asset.url_name}"

    def get(self, name: str) -> Asset | None:
        return self._load().get(name)

    def by_url_name(self, url_name: str) -> Asset | None:
        self._load()
        return self._by_url.get(url_name)

    def add(self, name: str, loader: Callable[[], bytes]) -> None:
        """Serve bytes made by code (a generated stylesheet) as an asset called `name`."""
        with self._lock:
            self._external[name] = loader
            if self._by_name is not None:
                made = _make_asset(name, loader())
                self._by_name[name] = made
                self._by_url[made.url_name] = made

    def names(self) -> list[str]:
        return sorted(self._load())

    def warm(self) -> None:
        """Compress every compressible asset in both encodings now, so the first visitor does
        not wait for Plotly's bundle (`paddock serve` does it before starting its workers,
        which then read the cache)."""
        for asset in self._load().values():
            if asset.compressible:
                asset.encoded("br", self.cache)
                asset.encoded("gzip", self.cache)

    def warm_in_background(self) -> None:
        with self._lock:
            if self._warming:
                return
            self._warming = True
        threading.Thread(target=self.warm, name="paddock-assets-warm", daemon=True).start()


def _make_asset(name: str, content: bytes) -> Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in {"application/javascript", "image/svg+xml"}:
        media_type += "; charset=utf-8"
    digest = hashlib.sha256(content).hexdigest()[:DIGEST_LENGTH]
    return Asset(name, content, digest, media_type)


registry = AssetRegistry()


def asset(name: str) -> str:
    """Jinja global: `{{ asset('app.css') }}` -> `/static/app.<hash>.css`."""
    return registry.url(name)


def choose_encoding(accept_encoding: str) -> str:
    """Brotli, then gzip, then none, honouring q-values (`br;q=0` refuses brotli)."""
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        weights[token] = q
    star = weights.get("*", 0.0)
    for encoding in ("br", "gzip"):
        if weights.get(encoding, star) > 0:
            return encoding
    return "identity"


router = APIRouter(include_in_schema=False)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"])
def static_file(path: str, request: Request) -> Response:
    """Fingerprinted names are immutable for a year; a plain name (for a hand-typed URL or a
    tool) is served too but must be revalidated."""
    asset = registry.by_url_name(path)
    cache = IMMUTABLE
    if asset is None:
        asset = registry.get(path)
        cache = REVALIDATE
    if asset is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    encoding = "identity"
    if asset.compressible:
        encoding = choose_encoding(request.headers.get("accept-encoding", ""))
    etag = f'"{asset.digest}-{encoding}"'
    headers = {"Cache-Control": cache, "ETag": etag, "Vary": "Accept-Encoding"}
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(
        asset.encoded(encoding, registry.cache), media_type=asset.media_type, headers=headers
    )


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it even when a page names its icon; the SVG serves."""
    icon = registry.get("favicon.svg")
    if icon is None:
        return Response(status_code=404)
    return Response(
        icon.content, media_type=icon.media_type, headers={"Cache-Control": "public, max-age=86400"}
    )


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags
