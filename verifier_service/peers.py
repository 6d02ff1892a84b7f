"""Peer platforms — 外省平台: where a 亮证 code of another region is resolved.

``EZZ_PEERS`` is a JSON object from region code (行政区划代码) to the peer service's base URL
and the API key (role ``peer``) that the peer issued to this service::

    {"310000": {"url": "http://127.0.0.1:8001", "key": "ezzk_…"}}

A token whose issuing region is not this service's goes to the peer of that region — or of
the nearest region containing it (a peer for 310000 serves a token of 310115) — at
``POST <url>/v1/present``. The peer checks the token (single use), loads the licence from its
registry, verifies and logs it, and returns the sealed document; this service then verifies
that document itself. :class:`Peers` does the HTTP part: a timeout on every step, a cap on
the size of the answer, strict JSON (:func:`ezhengzhao.formats.jsonio.loads`: no NaN, bounded
nesting), and :class:`PeerUnavailable` for everything that is not a well-formed answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpx

from ezhengzhao import codes
from ezhengzhao.errors import ConfigurationError, DecodeError
from ezhengzhao.formats import jsonio

__all__ = [
    "MAX_ANSWER_BYTES",
    "Peer",
    "PeerAnswer",
    "PeerUnavailable",
    "Peers",
    "parse_peers",
]

#: A sealed licence with its seal picture and a result is tens of KiB; far more is not one.
MAX_ANSWER_BYTES: Final = 2 << 20
#: Seconds to connect, and for each read or write, of a call to a peer.
CONNECT_TIMEOUT: Final = 3.0
READ_TIMEOUT: Final = 15.0
_MAX_KEY: Final = 200
_REQUEST_ID: Final = re.compile(r"[0-9A-Za-z_-]{1,64}")
# A sealed licence nests a handful of levels, its answer one more; far deeper is not an
# answer, and would only trouble whatever walks it next (the response's own validation).
_MAX_DEPTH: Final = 32


class PeerUnavailable(Exception):
    """The peer could not give an answer: unreachable, too slow, refused, or garbled."""


@dataclass(frozen=True, slots=True)
class Peer:
    """One peer platform: its region, base URL and the key it gave this service."""

    region: str
    url: str
    key: str = field(repr=False)

    @property
    def present_url(self) -> str:
        return self.url.rstrip("/") + "/v1/present"


@dataclass(frozen=True, slots=True)
class PeerAnswer:
    """A peer's 200 answer to ``/v1/present``, checked for shape (not for truth)."""

    request_id: str
    status: str
    reasons: tuple[str, ...]
    document: dict[str, object] | None


def _peer(region: object, value: object) -> Peer:
    where = f"EZZ_PEERS[{region!r}]"
    if not isinstance(region, str) or not codes.is_valid_region_code(region):
        raise ConfigurationError(f"EZZ_PEERS: {region!r} is not a valid 行政区划代码")
    if not isinstance(value, dict) or set(value) != {"url", "key"}:
        raise ConfigurationError(f'{where} must be an object with exactly "url" and "key"')
    url, key = value["url"], value["key"]
    if not isinstance(url, str):
        raise ConfigurationError(f"{where}.url must be text")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{where}.url must be an http(s) URL with a host, not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(f"{where}.url must have no query, fragment or credentials")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ConfigurationError(f"{where}.url has an invalid port: {url!r}") from None
    if (
        not isinstance(key, str)
        or not 0 < len(key) <= _MAX_KEY
        or not key.isascii()
        or not key.isprintable()
        or " " in key
    ):
        raise ConfigurationError(f"{where}.key must be the peer's API key (printable ASCII)")
    return Peer(region, url.rstrip("/"), key)


def parse_peers(text: str, *, own_region: str | None = None) -> dict[str, Peer]:
    """The peers ``EZZ_PEERS`` names (empty text: none); ConfigurationError when malformed.

    A peer for ``own_region`` itself is refused: this service resolves its own codes.
    """
    if not text.strip():
        return {}
    try:
        value = jsonio.loads(text, what="EZZ_PEERS")
    except DecodeError as exc:
        raise ConfigurationError(f"EZZ_PEERS is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigurationError("EZZ_PEERS must be a JSON object {region: {url, key}}")
    peers = {region: _peer(region, entry) for region, entry in value.items()}
    if own_region is not None and own_region in peers:
        raise ConfigurationError(f"EZZ_PEERS names this service's own region {own_region}")
    return peers


class Peers:
    """The configured peers and one HTTP client for them (thread-safe; close when done)."""

    def __init__(self, peers: Mapping[str, Peer], *, transport: httpx.BaseTransport | None = None):
        self._peers = dict(peers)
        self._client = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "ezhengzhao-verifier-service"},
        )

    @classmethod
    def from_text(cls, text: str, *, own_region: str | None = None) -> Peers:
        return cls(parse_peers(text, own_region=own_region))

    def __iter__(self) -> Iterator[Peer]:
        return iter(self._peers.values())

    def __len__(self) -> int:
        return len(self._peers)

    def for_region(self, region: str) -> Peer | None:
        """The peer for ``region``, or for the nearest region that contains it, or None."""
        for code in (region, *codes.parent_region_codes(region)):
            peer = self._peers.get(code)
            if peer is not None:
                return peer
        return None

    def present(self, peer: Peer, body: Mapping[str, object]) -> PeerAnswer:
        """POST ``body`` to the peer's ``/v1/present``; its checked answer.

        PeerUnavailable when the peer cannot be reached in time, answers other than 200, sends
        more than :data:`MAX_ANSWER_BYTES`, or sends something that is not an answer.
        """
        headers = {"Authorization": f"Bearer {peer.key}", "Accept": "application/json"}
        try:
            with self._client.stream(
                "POST", peer.present_url, json=dict(body), headers=headers
            ) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                    raise PeerUnavailable(f"peer {peer.region} answered {declared} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise PeerUnavailable(
                            f"peer {peer.region} answered more than {MAX_ANSWER_BYTES} bytes"
                        )
                    chunks.append(chunk)
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise PeerUnavailable(f"peer {peer.region} did not answer in time: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"peer {peer.region} cannot be reached: {exc!r}") from exc
        content = b"".join(chunks)
        if status != 200:
            code = _error_code(content)
            raise PeerUnavailable(f"peer {peer.region} answered HTTP {status} {code}".rstrip())
        return _answer(peer, content)

    def close(self) -> None:
        self._client.close()


def _parse(content: bytes) -> object:
    """A peer's JSON, read strictly (no NaN, no duplicate keys, bounded nesting);
    DecodeError when it is not such JSON."""
    return jsonio.loads(content, max_bytes=MAX_ANSWER_BYTES, what="the peer's answer")


def _error_code(content: bytes) -> str:
    try:
        value = _parse(content)
    except DecodeError:
        return ""
    code = value.get("code") if isinstance(value, dict) else None
    return code if isinstance(code, str) and code.isidentifier() and len(code) < 64 else ""


def _answer(peer: Peer, content: bytes) -> PeerAnswer:
    garbled = PeerUnavailable(f"peer {peer.region} sent something that is not a /v1/present answer")
    try:
        value = _parse(content)
    except DecodeError as exc:
        raise PeerUnavailable(f"{garbled}: {exc}") from None
    if not isinstance(value, dict) or _depth(value) > _MAX_DEPTH:
        raise garbled
    request_id, result, document = (
        value.get("request_id"),
        value.get("result"),
        value.get("document"),
    )
    if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        raise garbled
    if not isinstance(result, dict):
        raise garbled
    status, reasons = result.get("status"), result.get("reasons")
    if status not in ("PASSED", "FAILED", "INDETERMINATE") or not isinstance(reasons, list):
        raise garbled
    if not all(isinstance(r, str) for r in reasons):
        raise garbled
    if document is not None and not isinstance(document, dict):
        raise garbled
    return PeerAnswer(request_id, str(status), tuple(str(r) for r in reasons), document)


def _depth(value: object) -> int:
    """How deep arrays and objects nest in a parsed JSON value (walked without recursion)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
