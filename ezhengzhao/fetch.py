"""Fetching signed lists — 列表获取: the bytes at an http, https or file URL, within limits.

Trust lists, status lists and rule sets are published as whole signed files (DESIGN §5). The
bytes fetched here are untrusted: the caller verifies their signature. What this module
guards is the fetch itself, so that a faulty or hostile server cannot make a verifier hang,
run out of memory or read a local file:

- only ``http``, ``https`` and ``file`` URLs; a redirect may lead only to ``http`` or
  ``https``, never from ``https`` down to ``http``, and at most a few times;
- only status 200 is a body; any other status is refused;
- the body may not exceed ``max_bytes``: a larger Content-Length is refused before reading,
  and the bytes are counted while reading, so a server that lies about the length or sends
  none is cut off one chunk past the limit;
- ``timeout`` bounds each wait for the server, and the whole transfer is abandoned once it has
  taken longer than ``timeout`` (checked between reads, so a trickling server is stopped within
  about twice ``timeout``);
- the body is asked for without compression and a Content-Encoding other than ``identity`` is
  refused (a small compressed body could expand past any limit).

Every failure raises :class:`~ezhengzhao.errors.FetchError` with a stable ``reason``
(:data:`REASON_CODES`) and the URL. The system's proxy settings apply to http and https.
"""

from __future__ import annotations

import http.client
import math
import os
import time
import urllib.error
import urllib.request
from http.client import HTTPMessage
from typing import IO, Final
from urllib.parse import urljoin, urlsplit

from ezhengzhao.errors import ConfigurationError, FetchError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "REASON_CODES",
    "FetchError",
    "check_limits",
    "fetch",
]

DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024
"""What the list loaders accept by default: a 1 M-entry status list or a trust list of
10,000 issuers fits many times over."""
DEFAULT_TIMEOUT: Final = 10.0
"""Seconds; the list loaders' default."""

URL: Final = "url"
SCHEME: Final = "scheme"
REDIRECT: Final = "redirect"
HTTP_STATUS: Final = "http_status"
TOO_LARGE: Final = "too_large"
TIMEOUT: Final = "timeout"
CONNECTION: Final = "connection"
ENCODING: Final = "encoding"

REASON_CODES: Final[tuple[str, ...]] = (
    URL,
    SCHEME,
    REDIRECT,
    HTTP_STATUS,
    TOO_LARGE,
    TIMEOUT,
    CONNECTION,
    ENCODING,
)
"""Every :attr:`FetchError.reason`."""

_WEB_SCHEMES: Final = frozenset({"http", "https"})
_MAX_REDIRECTS: Final = 5
_CHUNK: Final = 64 * 1024


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    redirect_prefixes: tuple[str, ...] | None = None,
) -> bytes:
    """The body at ``url`` (``http``, ``https`` or ``file``), at most ``max_bytes`` long.

    ``timeout`` is in seconds (see the module docstring for what it bounds). With
    ``redirect_prefixes``, a redirect is followed only to a URL starting with one of them.
    FetchError for every failure; ConfigurationError for a ``max_bytes`` or ``timeout`` that
    is not positive.
    """
    if not isinstance(url, str):
        raise TypeError("url must be a string")
    check_limits(max_bytes, timeout)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError for a port out of range
    except ValueError as exc:
        raise FetchError(URL, url, f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == "file":
        return _read_file(url, parts.netloc, parts.path, max_bytes)
    if scheme not in _WEB_SCHEMES:
        raise FetchError(SCHEME, url, f"scheme {parts.scheme!r} is not http, https or file")
    if not parts.hostname:
        raise FetchError(URL, url, "the URL names no host")
    return _get(url, max_bytes, float(timeout), redirect_prefixes)


def check_limits(max_bytes: int, timeout: float) -> None:
    """ConfigurationError unless ``max_bytes`` is a positive int and ``timeout`` a positive,
    finite number of seconds."""
    if type(max_bytes) is not int or max_bytes <= 0:
        raise ConfigurationError("max_bytes must be a positive int")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout < math.inf
    ):
        raise ConfigurationError("timeout must be a positive, finite number of seconds")


def _get(
    url: str, max_bytes: int, timeout: float, prefixes: tuple[str, ...] | None
) -> bytes:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(_RedirectGuard(prefixes))
    request = urllib.request.Request(
        url, headers={"Accept-Encoding": "identity", "User-Agent": "ezhengzhao"}
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return _read_body(url, response, max_bytes, deadline)
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise FetchError(
                REDIRECT, url, f"redirect not followed: {exc.code} {exc.msg}"
            ) from None
        raise FetchError(HTTP_STATUS, url, f"the server answered {exc.code} {exc.msg}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchError(TIMEOUT, url, f"no answer within {timeout:g} s") from None
        raise FetchError(CONNECTION, url, f"cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise FetchError(TIMEOUT, url, f"no answer within {timeout:g} s") from None
    except http.client.InvalidURL as exc:
        raise FetchError(URL, url, f"malformed URL: {exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(CONNECTION, url, f"the transfer failed: {exc!r}") from None
    except ValueError as exc:
        # e.g. a host name that cannot be encoded for DNS
        raise FetchError(URL, url, f"malformed URL: {exc}") from None


def _read_body(
    url: str, response: http.client.HTTPResponse, max_bytes: int, deadline: float
) -> bytes:
    final = response.url or url
    if response.status != 200:
        raise FetchError(HTTP_STATUS, url, f"the server answered {response.status}, not 200")
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise FetchError(ENCODING, url, f"unsupported Content-Encoding {encoding!r}")
    declared = response.length  # None without a valid Content-Length
    if declared is not None and declared > max_bytes:
        raise FetchError(
            TOO_LARGE, url, f"{final} announces {declared} bytes, more than {max_bytes}"
        )
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise FetchError(TIMEOUT, url, "the transfer took longer than the timeout")
        # read1 waits for the server at most once, so the deadline is checked between waits.
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(TOO_LARGE, url, f"{final} sent more than {max_bytes} bytes")
    if declared is not None and len(body) < declared:
        raise FetchError(CONNECTION, url, f"the body ended after {len(body)} of {declared} bytes")
    return bytes(body)


class _RedirectGuard(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only, never from https to http, within the allowed
    prefixes when there are some, at most a few times."""

    max_redirections = _MAX_REDIRECTS

    def __init__(self, prefixes: tuple[str, ...] | None) -> None:
        super().__init__()
        self._prefixes = prefixes

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
    ) -> object:
        # Checked before the base handler, which refuses some schemes itself with a plain
        # HTTP error: every refused redirect then has the same reason.
        location = headers.get("location") or headers.get("uri")
        if location is not None:
            target = urljoin(req.full_url, str(location))
            scheme = urlsplit(target).scheme.lower()
            if scheme not in _WEB_SCHEMES:
                raise FetchError(
                    REDIRECT, req.full_url, f"redirect to a {scheme or 'missing'} scheme refused"
                )
            if scheme == "http" and urlsplit(req.full_url).scheme.lower() == "https":
                raise FetchError(REDIRECT, req.full_url, "redirect from https down to http refused")
            if self._prefixes is not None and not target.startswith(self._prefixes):
                raise FetchError(
                    REDIRECT, req.full_url, "redirect to an address outside the allowed prefixes"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _read_file(url: str, host: str, path: str, max_bytes: int) -> bytes:
    if host not in ("", "localhost"):
        raise FetchError(URL, url, "a file URL may not name another host")
    if not path.startswith("/"):
        raise FetchError(URL, url, "a file URL needs an absolute path")
    name = urllib.request.url2pathname(path)
    try:
        with open(name, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > max_bytes:
                raise FetchError(TOO_LARGE, url, f"{size} bytes, more than {max_bytes}")
            # Counted as well: a device or a growing file has no honest size.
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(CONNECTION, url, f"cannot read {name}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise FetchError(TOO_LARGE, url, f"more than {max_bytes} bytes")
    return data
