"""Widget code and client files served once, at content-hashed, immutable, compressed URLs.

numerous-widgets attaches the same 1.5 MB stylesheet to every widget and a 0.2-9.6 MB module
to every widget class. Sending those inside each session's messages is what made the reference
move megabytes on every page load. Here every distinct text is hashed once, stored once per
process, and the browser caches it forever under its hash.
"""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                "map": "application/json"}
_MIN_GZIP = 1024
_FONT_TYPES = {"font/woff2": "woff2", "font/woff": "woff", "font/ttf": "ttf", "font/otf": "otf",
               "application/font-woff": "woff", "application/x-font-ttf": "ttf"}
_DATA_URL = re.compile(r"url\(\s*([\"']?)data:([\w.+/-]+);base64,([A-Za-z0-9+/=\s]+)\1\s*\)")
_MIN_EXTRACT = 2048
_URL = re.compile(r"(?:https?://|//|/(?![/*]))\S*\Z")


def is_url(text: str) -> bool:
    """Whether a widget's `_esm` or `_css` names a file to load rather than holding its text.

    One rule for every place that asks: an absolute or root-relative URL on one line without
    spaces. Stylesheet text that opens with a comment (`/* ... */`) is text, not a path.
    """
    return bool(_URL.match(text))


def is_remote(url: str) -> bool:
    """A URL on another origin: its origin goes into the page's Content-Security-Policy."""
    return url.startswith(("http://", "https://", "//"))


_REMOTE_IMPORT = re.compile(
    r"""(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s*)(["'])((?:https?:)?//[^"'\s]+)\1""")


def remote_imports(esm: str) -> tuple[str, ...]:
    """The modules on other origins that widget code imports, statically or with `import()`.

    Altair's chart imports vega from esm.sh: without its origin in the page's policy the
    browser refuses the import, and the chart stays blank with only a console line to say why.

    Worked out once per text: every page load asks for each of its widgets, and a widget's
    code is up to 10 MB (numerous-widgets), which took a page of 20 of them 250 ms to scan.
    """
    return _remote_imports(esm)


@functools.lru_cache(maxsize=512)
def _remote_imports(esm: str) -> tuple[str, ...]:
    # Widgets of one class share one string object, whose hash Python keeps: a hit is cheap.
    return tuple(dict.fromkeys(match.group(2) for match in _REMOTE_IMPORT.finditer(esm)))


@dataclass
class Asset:
    """One file's bytes, with its gzip form made on first request."""

    body: bytes
    media_type: str
    etag: str
    _gzipped: bytes | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def gzipped(self) -> bytes:
        with self._lock:
            if self._gzipped is None:
                self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
            return self._gzipped

    def response(self, request: Request, cache_control: str = IMMUTABLE) -> Response:
        headers = {"Cache-Control": cache_control, "ETag": self.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers=headers)
        body = self.body
        if len(body) >= _MIN_GZIP and "gzip" in request.headers.get("accept-encoding", ""):
            body = self.gzipped()
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=self.media_type, headers=headers)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class AssetStore:
    """Widget `_esm` and `_css` texts by content hash, stored once for every app in the
    process; each app serves only the names its own sessions registered (`into`)."""

    def __init__(self) -> None:
        self._by_text: dict[str, str] = {}
        self._assets: dict[str, Asset] = {}
        self._fonts: dict[str, tuple[str, ...]] = {}
        """The font files taken out of each stylesheet, served beside it."""
        self._lock = threading.Lock()

    def register(self, text: str, kind: str, into: set[str] | None = None) -> str:
        """Store `text` (once) and return its file name, e.g. `3f9a….js`; add the name (and
        a stylesheet's fonts) to `into`, the names one app serves.

        Looking a text up is a dict lookup: Python caches a string's hash on the object, and
        widgets of one class share one string object, so the cost is paid once per class.
        """
        name = self._by_text.get(text)
        if name is None or not name.endswith(kind):
            name = self._store(text, kind)
        if into is not None and name not in into:
            into.add(name)
            into.update(self._fonts.get(name, ()))
        return name

    def _store(self, text: str, kind: str) -> str:
        fonts: list[str] = []
        body = (self._extract_fonts(text, fonts) if kind == "css" else text).encode()
        name = f"{content_hash(body)}.{kind}"
        with self._lock:
            self._by_text[text] = name
            self._fonts[name] = tuple(fonts)
            if name not in self._assets:
                self._assets[name] = Asset(body, _MEDIA_TYPES[kind], f'"{name}"')
        return name

    def _extract_fonts(self, css: str, fonts: list[str]) -> str:
        """Move fonts embedded as data URLs into files of their own next to the stylesheet.

        numerous-widgets embeds 20 KaTeX faces three times over (woff2, woff, ttf): 1.4 MB of
        its 1.5 MB stylesheet, which barely compresses. As separate files the browser fetches
        only the faces a page uses, in the one format it prefers, and usually none at all.
        """

        def extract(match: re.Match[str]) -> str:
            extension = _FONT_TYPES.get(match.group(2).lower())
            if extension is None or len(match.group(3)) < _MIN_EXTRACT:
                return match.group(0)
            try:
                font = base64.b64decode(match.group(3), validate=False)
            except (binascii.Error, ValueError):
                return match.group(0)
            name = f"{content_hash(font)}.{extension}"
            with self._lock:
                self._assets.setdefault(name, Asset(font, match.group(2).lower(), f'"{name}"'))
            fonts.append(name)
            return f'url("{name}")'  # relative: fonts are served beside the stylesheet

        return _DATA_URL.sub(extract, css)

    def get(self, name: str) -> Asset | None:
        return self._assets.get(name)


ASSETS = AssetStore()

_CLIENT_DIR = Path(__file__).resolve().parent.parent / "js" / "bundle"


class ClientFiles:
    """The browser client, served under a version made of the files' hashes.

    What is served is `numerous/js/bundle/`: the sources in `numerous/js/` built into one module
    per entry (`npm run build`), each with its source map, which the browser fetches only when
    its developer tools are open. A page fetches the client in one request instead of one per
    module (docs/benchmarks.md)."""

    def __init__(self, directory: Path = _CLIENT_DIR) -> None:
        files = sorted([*directory.glob("*.js"), *directory.glob("*.js.map")])
        self.files = {
            path.name: Asset(path.read_bytes(), _MEDIA_TYPES[path.suffix[1:]], "")
            for path in files if path.name != _EARLY
        }
        digest = hashlib.sha256()
        for name, asset in self.files.items():
            digest.update(name.encode() + b"\0" + asset.body)
        self.version = digest.hexdigest()[:16]
        for asset in self.files.values():
            asset.etag = f'"{self.version}"'
        early = directory / _EARLY
        self.early_script = early.read_text().strip() if early.exists() else ""
        self.early_element = f"<script>{self.early_script}</script>" if self.early_script else ""
        """Put first in every page's head (`early_element`): opens the WebSocket while the
        client loads."""
        self.early_hash = "'sha256-{}'".format(
            base64.b64encode(hashlib.sha256(self.early_script.encode()).digest()).decode())
        """The early script's source expression for the page's Content-Security-Policy."""

    def get(self, version: str, name: str) -> Asset | None:
        if version != self.version:
            return None
        return self.files.get(name)


_EARLY = "early.js"
"""The script each page carries inline (built from numerous/js/early.js); never served."""

_client: ClientFiles | None = None


def client_files() -> ClientFiles:
    """The client files, read on first use (one copy per process)."""
    global _client
    if _client is None:
        _client = ClientFiles()
    return _client
