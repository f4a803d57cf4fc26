"""The local console at `/ui` (DESIGN §9): the static files of `flow_manager_local/ui/`.

The local stack has no Step Functions console, so the gateway serves one of its own:
a page that calls the same API routes as the CLI, on the same origin. Only the files
shipped in the package are served, by name (an allow-list read once): nothing a request
spells (`..`, `%2e%2e`, a backslash, an absolute path) can reach another file, it is
simply not one of the names (404).

Every answer carries a strict Content-Security-Policy: scripts only from the page's
origin (no inline script, no eval), requests only to it, no frames, no forms posted
elsewhere. Styles allow 'unsafe-inline' because Mermaid writes each diagram's
stylesheet as a `<style>` element inside its SVG (and sets a few style attributes); no
script can be injected that way, and the diagram text is rendered with Mermaid's
securityLevel 'strict'.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from importlib import resources
from urllib.parse import unquote

PREFIX = "/ui"
INDEX = "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # Mermaid's <style> inside each SVG
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
# Revalidate every time (the files change with the package, and their names do not),
# answered 304 by ETag when unchanged.
CACHE_CONTROL = "no-cache"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
COMPRESS_ABOVE = 1024  # bytes: smaller files go as they are
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


@dataclass(frozen=True)
class Asset:
    content_type: str
    body: bytes
    gzipped: bytes | None
    etag: str


@dataclass(frozen=True)
class UiResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def is_ui_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def read_assets() -> dict[str, Asset]:
    """Every servable file of the package's ui/ folder, by its path below /ui/."""
    root = resources.files("flow_manager_local") / "ui"
    assets: dict[str, Asset] = {}
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                pending.append((entry, name + "/"))
                continue
            suffix = entry.name[entry.name.rfind(".") :] if "." in entry.name else ""
            content_type = CONTENT_TYPES.get(suffix)
            if content_type is None:
                continue  # the licence and notes ship with the package, not over HTTP
            body = entry.read_bytes()
            gzipped = gzip.compress(body, 6, mtime=0) if len(body) > COMPRESS_ABOVE else None
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[name] = Asset(content_type, body, gzipped, etag)
    return assets


class WebUi:
    """Answers GET and HEAD under /ui; files are read on the first request."""

    def __init__(self) -> None:
        self._assets: dict[str, Asset] | None = None
        self._lock = threading.Lock()

    def assets(self) -> dict[str, Asset]:
        with self._lock:
            if self._assets is None:
                self._assets = read_assets()
            return self._assets

    def serve(self, method: str, path: str, headers: dict[str, str]) -> UiResponse:
        """`path` as requested (still percent-encoded); `headers` with lower-case names."""
        if method not in ("GET", "HEAD"):
            return _error(405, "the console's files are read with GET", [("Allow", "GET, HEAD")])
        name = unquote(path[len(PREFIX) :]).lstrip("/") or INDEX
        asset = self.assets().get(name)
        if asset is None:
            return _error(404, f"no file {name[:200]!r} in the console")
        common = [
            ("Content-Type", asset.content_type),
            ("Cache-Control", CACHE_CONTROL),
            ("ETag", asset.etag),
            ("Vary", "Accept-Encoding"),
            *SECURITY_HEADERS,
        ]
        if asset.etag in _etags(headers.get("if-none-match", "")):
            return UiResponse(304, common, b"")
        if asset.gzipped is not None and _accepts_gzip(headers.get("accept-encoding", "")):
            return UiResponse(200, [*common, ("Content-Encoding", "gzip")], asset.gzipped)
        return UiResponse(200, common, asset.body)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        coding, _, parameters = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            quality = parameters.strip().removeprefix("q=").strip()
            return quality not in ("0", "0.0", "0.00", "0.000")
    return False


def _error(status: int, message: str, extra: list[tuple[str, str]] | None = None) -> UiResponse:
    import json

    body = json.dumps(
        {"error": {"code": "NotFound" if status == 404 else "MethodNotAllowed", "message": message}}
    ).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        *SECURITY_HEADERS,
        *(extra or []),
    ]
    return UiResponse(status, headers, body)
