"""Status sources — 状态列表来源: where a verifier gets verified status lists from.

A :class:`StatusSource` hands the verifier the whole :class:`~ezhengzhao.status.codec.StatusList`
published at a URI (DESIGN §5: lists are fetched whole, never per licence, so no query tells the
publisher which licence is being checked). It raises :class:`StatusUnavailable` when it cannot
give a list it can vouch for: unknown URI, malformed token, bad signature, unknown signer, a
``sub`` that is not the URI, a token past its ``exp``, or a list whose signer does not speak
for the licence's issuer. The verifier turns that into an INDETERMINATE ``status_unavailable``
check.

Who may speak for a licence: a status list is published by the issuer or by an authority of the
issuer's province (a provincial platform keeping the lists of its region). So when the verifier
names the issuer (``issuer=`` its 统一社会信用代码), the certificate that signed the list must name
that very USCC in its subject, or a USCC registered in the same province (GB 32100 characters
3–8). Otherwise any trusted signer anywhere — another province's authority — could answer
"valid" for a licence its own issuer revoked, given control of what the URI serves.

:class:`FileStatusSource` reads signed Status List Tokens (CWT) from memory or from files;
:class:`HttpStatusSource` fetches them from their http(s) URIs (:mod:`ezhengzhao.fetch`). Both
verify and cache alike, and neither accepts a token issued before the one it holds for a URI
(an old list replayed could hide a revocation).
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from ezhengzhao import codes
from ezhengzhao.errors import (
    CertificateError,
    CodeError,
    ConfigurationError,
    CryptoError,
    FetchError,
    InputError,
    StatusUnavailable,
)
from ezhengzhao.fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, check_limits, fetch
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.status.codec import (
    StatusList,
    StatusListToken,
    read_status_list_token,
    verify_status_list_token,
)

__all__ = [
    "FileStatusSource",
    "HttpStatusSource",
    "StatusSource",
    "StatusUnavailable",
    "speaks_for",
]


@runtime_checkable
class StatusSource(Protocol):
    """Gives the verified, current status list published at ``uri``."""

    def status_list(self, uri: str, now: datetime, *, issuer: str | None = None) -> StatusList:
        """The whole list at ``uri`` as of ``now``; StatusUnavailable if there is none to trust.

        ``issuer`` is the 统一社会信用代码 of the issuer of the licence whose status is asked
        for; a list whose signer does not speak for that issuer must not be returned.
        """
        ...


@dataclass(frozen=True, slots=True)
class _Cached:
    token: StatusListToken
    fetched_at: datetime
    signer: Certificate


class _VerifiedSource(ABC):
    """What every status source here shares: token checks and the ttl cache.

    A subclass says how to get a URI's token bytes (:meth:`_read`).
    """

    def __init__(self, certificates: Iterable[Certificate]) -> None:
        certs = tuple(certificates)
        if not certs or not all(isinstance(c, Certificate) for c in certs):
            raise ConfigurationError("a status source needs one or more signer Certificates")
        self._by_kid: dict[bytes, tuple[Certificate, ...]] = {}
        for cert in certs:
            self._by_kid[cert.kid] = (*self._by_kid.get(cert.kid, ()), cert)
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def status_list(self, uri: str, now: datetime, *, issuer: str | None = None) -> StatusList:
        """The verified list at ``uri`` as of ``now``; with ``issuer`` (a USCC), only if its
        signer speaks for that issuer (the module says who does)."""
        if now.utcoffset() is None:
            raise ConfigurationError("now must be a timezone-aware datetime")
        with self._lock:
            cached = self._cache.get(uri)
        if cached is None or not _fresh(cached.token, now):
            token, signer = self._fetch(uri, now)
            with self._lock:
                held = self._cache.get(uri)
                if held is not None and token.issued_at < held.token.issued_at:
                    raise StatusUnavailable(
                        uri, f"the token was issued before the one held ({held.token.issued_at})"
                    )
                cached = _Cached(token, now, signer)
                self._cache[uri] = cached
        if issuer is not None and not speaks_for(cached.signer, issuer):
            subject = cached.signer.subject
            raise StatusUnavailable(
                uri,
                f"signed by {subject.organization or 'an unnamed signer'} "
                f"({subject.serial_number or 'no 统一社会信用代码'}), which does not speak for "
                f"licences of {issuer}: a status list is signed by the issuer or an authority "
                "of its province",
            )
        return cached.token.status_list

    @abstractmethod
    def _read(self, uri: str) -> bytes:
        """The token bytes published at ``uri``; StatusUnavailable if they cannot be had."""

    def _fetch(self, uri: str, now: datetime) -> tuple[StatusListToken, Certificate]:
        """The verified token at ``uri`` and the certificate that verified it."""
        data = self._read(uri)
        try:
            token = read_status_list_token(data)
        except InputError as exc:
            raise StatusUnavailable(uri, f"malformed token: {exc}") from exc
        signer = self._verify(token, uri)
        if token.uri != uri:
            raise StatusUnavailable(uri, f"the token is for {token.uri}")
        if token.expires_at is not None and now >= token.expires_at:
            raise StatusUnavailable(uri, f"the token expired {token.expires_at:%Y-%m-%dT%H:%M:%SZ}")
        if token.issued_at > now:
            raise StatusUnavailable(uri, f"the token is issued in the future ({token.issued_at})")
        return token, signer

    def _verify(self, token: StatusListToken, uri: str) -> Certificate:
        kid = token.message.kid
        candidates = self._by_kid.get(kid, ()) if kid is not None else ()
        if not candidates:
            raise StatusUnavailable(uri, f"unknown signer kid {kid.hex() if kid else None}")
        problem = "the signature does not verify"
        for cert in candidates:
            try:
                verify_status_list_token(token, cert.public_key)
            except (CryptoError, CertificateError) as exc:
                problem = f"the signature does not verify: {exc}"
                continue
            if not cert.is_valid_at(token.issued_at):
                problem = "the signer certificate was not valid when the list was issued"
                continue
            return cert
        raise StatusUnavailable(uri, problem)


class FileStatusSource(_VerifiedSource):
    """Signed status-list tokens read from memory or from files, verified and cached by ttl.

    ``tokens`` maps a URI either to the token's bytes or to the path of a file holding them
    (read when first needed and again when the cached copy's ``iat + ttl`` has passed; a
    token without ttl is re-read on every call). ``certificates`` are the status-list signers
    trusted as given; a token is accepted when the certificate with its kid verifies its
    signature and was valid when the token was issued, its ``sub`` is the URI, and ``now`` is
    before its ``exp``; a token issued before the one held for the URI is refused. Thread-safe.
    """

    def __init__(
        self,
        tokens: Mapping[str, bytes | str | os.PathLike[str]],
        *,
        certificates: Iterable[Certificate],
    ) -> None:
        if not isinstance(tokens, Mapping):
            raise ConfigurationError("tokens must map status list URIs to tokens or files")
        super().__init__(certificates)
        readers: dict[str, Callable[[], bytes]] = {}
        for uri, value in tokens.items():
            if not isinstance(uri, str) or not uri:
                raise ConfigurationError(f"{uri!r} is not a status list URI")
            readers[uri] = _reader(value)
        self._readers = readers

    @classmethod
    def from_directory(
        cls, directory: str | os.PathLike[str], certificates: Iterable[Certificate]
    ) -> FileStatusSource:
        """The status lists of a directory: ``index.json`` maps each URI to a token file in it.

        ``certificates`` are the status-list signers trusted (e.g. a trust store's signers).
        ConfigurationError if the index is missing or malformed.
        """
        from ezhengzhao.formats.jsonio import loads

        folder = Path(directory)
        index_file = folder / "index.json"
        try:
            data = index_file.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {index_file}: {exc.strerror}") from None
        index = loads(data, what=str(index_file))
        if not isinstance(index, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in index.items()
        ):
            raise ConfigurationError(f"{index_file} must map status list URIs to token files")
        return cls(
            {uri: folder / str(name) for uri, name in index.items()}, certificates=certificates
        )

    def _read(self, uri: str) -> bytes:
        reader = self._readers.get(uri)
        if reader is None:
            raise StatusUnavailable(uri, "no token for this URI")
        try:
            return reader()
        except OSError as exc:
            raise StatusUnavailable(uri, f"cannot read the token: {exc}") from exc


class HttpStatusSource(_VerifiedSource):
    """Signed status-list tokens fetched whole from their http(s) URIs, verified and cached.

    A licence's status URI is fetched as it stands when it starts with one of ``prefixes``
    (by default any https URI; naming the publishers' addresses, each ending in ``/``, keeps a
    licence from making the verifier fetch anywhere else, redirects included; and only a
    licence from a trusted issuer gets its status fetched). ``max_bytes`` and ``timeout`` bound
    each fetch (:func:`ezhengzhao.fetch.fetch`). Tokens are checked and cached by ttl as by
    :class:`FileStatusSource`; a failed fetch raises StatusUnavailable like a bad token, and
    nothing older than the token's ``ttl`` is used. Thread-safe.
    """

    def __init__(
        self,
        *,
        certificates: Iterable[Certificate],
        prefixes: Iterable[str] = ("https://",),
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(certificates)
        allowed = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        if not allowed or not all(_is_web_prefix(p) for p in allowed):
            raise ConfigurationError(
                "prefixes must be http:// or https://, or such URLs with a host and a path"
            )
        check_limits(max_bytes, timeout)
        self._prefixes = allowed
        self._max_bytes = max_bytes
        self._timeout = timeout

    def _read(self, uri: str) -> bytes:
        if not uri.startswith(self._prefixes):
            raise StatusUnavailable(uri, "the URI is not under an allowed prefix")
        try:
            return fetch(
                uri,
                max_bytes=self._max_bytes,
                timeout=self._timeout,
                redirect_prefixes=self._prefixes,
            )
        except FetchError as exc:
            raise StatusUnavailable(uri, f"cannot fetch the token ({exc.reason}): {exc}") from exc


def speaks_for(signer: Certificate, issuer: str) -> bool:
    """Whether a status list signed with ``signer`` may speak for licences of ``issuer`` (a
    统一社会信用代码): the signer's subject names that USCC, or a USCC registered in the same
    province. A national registration (region part 100000) speaks for itself only."""
    code = signer.subject.serial_number
    if code is None:
        return False
    if code == issuer:
        return True
    try:
        signer_province = codes.province_of(codes.parse_uscc(code).region_code)
        issuer_province = codes.province_of(codes.parse_uscc(issuer).region_code)
    except CodeError:  # not a USCC, or a national registration (no province)
        return False
    return signer_province == issuer_province


def _is_web_prefix(prefix: object) -> bool:
    """``http://``, ``https://``, or an http(s) URL with a host and a path (so that
    ``https://a.cn/`` cannot be read as a prefix of ``https://a.cn.example.com``)."""
    if not isinstance(prefix, str):
        return False
    if prefix in ("http://", "https://"):
        return True
    scheme, sep, rest = prefix.partition("://")
    host, slash, _path = rest.partition("/")
    return scheme in ("http", "https") and bool(sep) and bool(host) and bool(slash)


def _fresh(token: StatusListToken, now: datetime) -> bool:
    """Whether a cached token may still be used at ``now`` without fetching it again."""
    if token.expires_at is not None and now >= token.expires_at:
        return False
    return token.ttl is not None and now < token.issued_at + token.ttl


def _reader(value: bytes | str | os.PathLike[str]) -> Callable[[], bytes]:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return lambda: data
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        return path.read_bytes
    raise ConfigurationError("a status list token must be bytes or a file path")
