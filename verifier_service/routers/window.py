"""Window page — 窗口核验页: the page window clerks use to scan and check licences.

The page itself needs no key: it holds no data. The API calls it makes from the browser carry
the clerk's window key. Everything the page loads comes from this service (no CDN, no web
fonts), so it works on a government intranet with no way out.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

router = APIRouter(tags=["window"], include_in_schema=False)

# The page's own assets, by name; anything else under /window/static/ is a 404, so the route
# can never be turned into a reader of arbitrary package files.
_ASSETS: dict[str, str] = {
    "window.css": "text/css; charset=utf-8",
    "window.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}

_PAGE = "window.html"

# Only this service's own scripts, styles and API, and images from here or data: URLs (seal
# pictures arrive as data URLs). The camera needs nothing more: its stream is attached to the
# video element as an object, not loaded from a URL, and its frames go through a canvas.
_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@lru_cache(maxsize=8)
def _read(name: str) -> bytes:
    """The bytes of one file in verifier_service/static/, read once per process."""
    return resources.files("verifier_service").joinpath("static", name).read_bytes()


def _headers(cache: str) -> dict[str, str]:
    return {**_SECURITY_HEADERS, "Cache-Control": cache}


@router.api_route("/window", methods=["GET", "HEAD"], response_class=Response)
def window_page() -> Response:
    """The window page (HTML, Chinese UI)."""
    # no-cache: a clerk always gets the page matching the running service's API.
    return Response(
        _read(_PAGE), media_type="text/html; charset=utf-8", headers=_headers("no-cache")
    )


@router.api_route("/window/static/{name}", methods=["GET", "HEAD"], response_class=Response)
def window_asset(name: str) -> Response:
    """One of the window page's own assets (style sheet, script, icon)."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        return JSONResponse(
            {"code": "not_found", "message": f"no window page asset named {name!r}"},
            status_code=404,
            headers={"X-Content-Type-Options": "nosniff"},
        )
    return Response(_read(name), media_type=media_type, headers=_headers("no-cache"))
