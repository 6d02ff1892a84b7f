"""Signed trust lists — 信任列表: the issuing authorities a trust anchor vouches for.

A trust operator (national or regional) publishes which authorities may issue which licence
types, with their signer certificates, and which seal makers (制章者) and roots it recognises,
as a COSE_Sign1 (RFC 9052, tag 18) over a CBOR map, signed by a trust anchor (DESIGN §3 item 6,
§5). The protected header is ``{1: alg, 4: kid}``, ``kid`` being the anchor certificate's
:attr:`Certificate.kid`. The payload, format ``ezz/trust-list/1`` (text keys; unknown keys are
refused, a new field means a new format)::

    {"format": "ezz/trust-list/1",
     "issuer": <the anchor certificate's subject CN>,
     "region": <GB/T 2260 code of the list's scope, or "000000" for the whole country>,
     "sequence": int ≥ 1, "issued_at": NumericDate, "next_update": NumericDate,
     "entries": [{"uscc", "name", "region", "level", "certificates": [DER], "kids": [8-byte
                  kid of each certificate], "licence_types": [21-char type codes],
                  "valid_from": NumericDate, "valid_until": NumericDate}],
     "roots": [DER of the root certificates the list vouches for],
     "seal_makers": [DER of the seal-maker certificates the list recognises]}

NumericDates are integer seconds (RFC 8392 §2) before the year 3000. An entry's region must
lie within the list's scope; no USCC appears twice in one list.

:func:`read_trust_list` is the codec: bytes to a :class:`TrustList` and its message, without
checking the signature; :class:`TrustListLoader` decides. It verifies with the configured
anchor whose kid matches, requires ``issuer`` to name that anchor and the list's region to
lie within the anchor's scope (a province's anchor signs for its province only), refuses a
list that is already stale, a lower sequence than the one it holds for the same issuer and
region, and a different list under the same sequence; it keeps the newest list per issuer and
region and turns what it holds into a :class:`~ezhengzhao.trust.store.TrustStore`.

Refusals raise :class:`TrustListError` with a stable ``reason`` (:data:`REASON_CODES`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Final

from ezhengzhao import codes
from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.errors import (
    CertificateError,
    ConfigurationError,
    CryptoError,
    PayloadError,
    TrustListError,
)
from ezhengzhao.fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, fetch
from ezhengzhao.formats import cbor, cose
from ezhengzhao.model import ISSUER_LEVELS
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.trust.store import TrustStore

__all__ = [
    "NATIONAL_REGION",
    "REASON_CODES",
    "TRUST_LIST_FORMAT",
    "TrustList",
    "TrustListEntry",
    "TrustListError",
    "TrustListLoader",
    "build_trust_list",
    "read_trust_list",
    "read_unsigned_trust_list",
    "sign_trust_list",
]

TRUST_LIST_FORMAT: Final = "ezz/trust-list/1"
NATIONAL_REGION: Final = "000000"
"""The scope of a national list: it may name authorities of every region."""

SIGNATURE_INVALID: Final = "trust_list_signature_invalid"
UNTRUSTED_ANCHOR: Final = "trust_list_untrusted_anchor"
ROLLBACK: Final = "trust_list_rollback"
STALE: Final = "trust_list_stale"
MALFORMED: Final = "trust_list_malformed"

REASON_CODES: Final[tuple[str, ...]] = (
    SIGNATURE_INVALID,
    UNTRUSTED_ANCHOR,
    ROLLBACK,
    STALE,
    MALFORMED,
)
"""Every :attr:`TrustListError.reason`."""

_TOP_KEYS: Final = frozenset(
    {
        "format",
        "issuer",
        "region",
        "sequence",
        "issued_at",
        "next_update",
        "entries",
        "roots",
        "seal_makers",
    }
)
_ENTRY_KEYS: Final = frozenset(
    {
        "uscc",
        "name",
        "region",
        "level",
        "certificates",
        "kids",
        "licence_types",
        "valid_from",
        "valid_until",
    }
)
_MAX_SEQUENCE: Final = 2**63 - 1
_KID_LENGTH: Final = 8


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustListEntry:
    """An issuing authority a trust list vouches for — 发证机构.

    ``certificates`` are its signer certificates (the keys its seals and QR codes are signed
    with); ``kids`` their
    :attr:`Certificate.kid`, in the same order (left empty, they are computed; given, they must
    match). ``licence_types`` are the 21-character 证照类型代码 it may issue between
    ``valid_from`` and ``valid_until`` (aware datetimes, kept in UTC whole seconds).
    ConfigurationError when a field is invalid.
    """

    uscc: str
    name: str
    region: str
    level: str
    certificates: tuple[Certificate, ...]
    licence_types: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    kids: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        where = f"trust list entry {self.uscc!r}"
        if not isinstance(self.uscc, str) or not codes.is_valid_uscc(self.uscc):
            raise ConfigurationError(f"{where}: uscc is not a valid 统一社会信用代码")
        if not _is_clean_text(self.name):
            raise ConfigurationError(f"{where}: name must be non-empty text without outer spaces")
        if not isinstance(self.region, str) or not codes.is_valid_region_code(self.region):
            raise ConfigurationError(f"{where}: region {self.region!r} is not a 行政区划代码")
        if self.level not in ISSUER_LEVELS:
            raise ConfigurationError(f"{where}: level must be one of {'/'.join(ISSUER_LEVELS)}")

        certificates = tuple(self.certificates)
        if not certificates:
            raise ConfigurationError(f"{where}: at least one certificate is needed")
        if not all(isinstance(c, Certificate) for c in certificates):
            raise ConfigurationError(f"{where}: certificates must be Certificate objects")
        if len(set(certificates)) != len(certificates):
            raise ConfigurationError(f"{where}: a certificate is listed twice")
        computed = tuple(c.kid for c in certificates)
        kids = tuple(self.kids)
        if kids and kids != computed:
            raise ConfigurationError(f"{where}: kids do not match the certificates' kids")
        object.__setattr__(self, "certificates", certificates)
        object.__setattr__(self, "kids", computed)

        types = tuple(self.licence_types)
        if not types:
            raise ConfigurationError(f"{where}: at least one licence type is needed")
        for code in types:
            if not _is_type_code(code):
                raise ConfigurationError(f"{where}: {code!r} is not a 21-character 证照类型代码")
        if len(set(types)) != len(types):
            raise ConfigurationError(f"{where}: a licence type is listed twice")
        object.__setattr__(self, "licence_types", types)

        start = _utc_seconds(self.valid_from, f"{where}: valid_from")
        end = _utc_seconds(self.valid_until, f"{where}: valid_until")
        if end <= start:
            raise ConfigurationError(f"{where}: valid_until must be after valid_from")
        object.__setattr__(self, "valid_from", start)
        object.__setattr__(self, "valid_until", end)

    def is_valid_at(self, at: datetime) -> bool:
        """Whether ``valid_from ≤ at ≤ valid_until``."""
        return self.valid_from <= at <= self.valid_until


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustList:
    """A trust list — 信任列表: what one anchor vouches for in one region, at one sequence.

    ``roots`` are the root certificates the list vouches for, ``seal_makers`` the seal-maker
    (制章者) certificates it recognises (GB/T 38540: a seal is made by a maker, not by the
    authority). Make one with :func:`build_trust_list` or read one with
    :func:`read_trust_list`. ConfigurationError when a field is invalid (see the module
    docstring for the rules).
    """

    issuer: str
    region: str
    sequence: int
    issued_at: datetime
    next_update: datetime
    entries: tuple[TrustListEntry, ...] = field(repr=False)
    roots: tuple[Certificate, ...] = field(repr=False)
    seal_makers: tuple[Certificate, ...] = field(default=(), repr=False)
    _by_uscc: Mapping[str, TrustListEntry] = field(init=False, repr=False, compare=False)
    _by_kid: Mapping[bytes, tuple[Certificate, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _is_clean_text(self.issuer):
            raise ConfigurationError(
                "trust list issuer must be non-empty text without outer spaces"
            )
        if not isinstance(self.region, str) or not (
            self.region == NATIONAL_REGION or codes.is_valid_region_code(self.region)
        ):
            raise ConfigurationError(
                f"trust list region {self.region!r} is not a 行政区划代码 nor {NATIONAL_REGION}"
            )
        if type(self.sequence) is not int or not 1 <= self.sequence <= _MAX_SEQUENCE:
            raise ConfigurationError("trust list sequence must be an int from 1 to 2^63 - 1")
        issued_at = _utc_seconds(self.issued_at, "trust list issued_at")
        next_update = _utc_seconds(self.next_update, "trust list next_update")
        if next_update <= issued_at:
            raise ConfigurationError("trust list next_update must be after issued_at")
        object.__setattr__(self, "issued_at", issued_at)
        object.__setattr__(self, "next_update", next_update)

        entries = tuple(self.entries)
        by_uscc: dict[str, TrustListEntry] = {}
        by_kid: dict[bytes, dict[Certificate, None]] = {}
        for entry in entries:
            if not isinstance(entry, TrustListEntry):
                raise ConfigurationError("trust list entries must be TrustListEntry objects")
            if entry.uscc in by_uscc:
                raise ConfigurationError(f"trust list names {entry.uscc} twice")
            if not _within(self.region, entry.region):
                raise ConfigurationError(
                    f"trust list entry {entry.uscc}: region {entry.region} is outside the "
                    f"list's scope {self.region}"
                )
            by_uscc[entry.uscc] = entry
            for certificate in entry.certificates:
                by_kid.setdefault(certificate.kid, {})[certificate] = None
        roots = tuple(self.roots)
        for root in roots:
            if not isinstance(root, Certificate) or not root.is_ca:
                raise ConfigurationError("trust list roots must be CA certificates")
        if len(set(roots)) != len(roots):
            raise ConfigurationError("trust list names a root twice")
        seal_makers = tuple(self.seal_makers)
        if not all(isinstance(c, Certificate) for c in seal_makers):
            raise ConfigurationError("trust list seal makers must be Certificate objects")
        if len(set(seal_makers)) != len(seal_makers):
            raise ConfigurationError("trust list names a seal maker twice")
        object.__setattr__(self, "seal_makers", seal_makers)
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "roots", roots)
        object.__setattr__(self, "_by_uscc", MappingProxyType(by_uscc))
        object.__setattr__(
            self,
            "_by_kid",
            MappingProxyType({kid: tuple(certs) for kid, certs in by_kid.items()}),
        )

    def entry_for(self, uscc: str) -> TrustListEntry | None:
        """The entry of the authority with 统一社会信用代码 ``uscc``, or None."""
        return self._by_uscc.get(uscc)

    def certificates_by_kid(self) -> Mapping[bytes, tuple[Certificate, ...]]:
        """Every entry certificate, by kid (distinct certificates; a kid may collide)."""
        return self._by_kid

    def to_cbor_map(self) -> dict[str, object]:
        """The payload map, as signed (see the module docstring)."""
        return {
            "format": TRUST_LIST_FORMAT,
            "issuer": self.issuer,
            "region": self.region,
            "sequence": self.sequence,
            "issued_at": _numeric_date(self.issued_at),
            "next_update": _numeric_date(self.next_update),
            "entries": [
                {
                    "uscc": e.uscc,
                    "name": e.name,
                    "region": e.region,
                    "level": e.level,
                    "certificates": [c.der for c in e.certificates],
                    "kids": list(e.kids),
                    "licence_types": list(e.licence_types),
                    "valid_from": _numeric_date(e.valid_from),
                    "valid_until": _numeric_date(e.valid_until),
                }
                for e in self.entries
            ],
            "roots": [r.der for r in self.roots],
            "seal_makers": [m.der for m in self.seal_makers],
        }


def build_trust_list(
    *,
    issuer: str,
    region: str,
    sequence: int,
    issued_at: datetime,
    next_update: datetime,
    entries: Iterable[TrustListEntry],
    roots: Iterable[Certificate] = (),
    seal_makers: Iterable[Certificate] = (),
) -> TrustList:
    """Build a :class:`TrustList`; ConfigurationError if anything is invalid.

    Checked: USCCs and region codes, levels, 21-character type codes, kids equal to the
    certificates' kids, no USCC twice, entries within the list's region, roots are CAs,
    ``next_update`` after ``issued_at``. Times are kept in UTC whole seconds.
    """
    return TrustList(
        issuer=issuer,
        region=region,
        sequence=sequence,
        issued_at=issued_at,
        next_update=next_update,
        entries=tuple(entries),
        roots=tuple(roots),
        seal_makers=tuple(seal_makers),
    )


# -- codec ------------------------------------------------------------------------------------


def sign_trust_list(trust_list: TrustList, *, signer: Signer, certificate: Certificate) -> bytes:
    """Sign ``trust_list`` with the anchor's key; the tagged COSE_Sign1 bytes.

    ConfigurationError if ``signer``'s key is not ``certificate``'s, or the list's ``issuer``
    is not the certificate's subject CN (loaders bind the two).
    """
    if not isinstance(trust_list, TrustList):
        raise TypeError("trust_list must be a TrustList")
    if certificate.public_key.spki_der() != signer.public_key.spki_der():
        raise ConfigurationError("the signer's key is not the anchor certificate's key")
    if trust_list.issuer != certificate.subject.common_name:
        raise ConfigurationError(
            f"trust list issuer {trust_list.issuer!r} is not the anchor certificate's CN "
            f"{certificate.subject.common_name!r}"
        )
    message = cose.sign1(
        cbor.dumps(trust_list.to_cbor_map()),
        alg=cose.alg_for_suite(signer.suite.id),
        kid=certificate.kid,
        sign=signer.sign,
    )
    return message.encode()


def read_trust_list(data: bytes) -> tuple[TrustList, cose.CoseSign1]:
    """Decode a trust list without checking its signature; PayloadError if malformed.

    Stages ``cbor``/``cose`` for the envelope (tag 18 required, ``alg`` and an 8-byte ``kid``
    in the protected header), ``claims`` for the payload: unknown or missing keys, a wrong
    format, a field :func:`build_trust_list` would refuse, a certificate that does not parse.
    Verify with a :class:`TrustListLoader` before trusting anything in it.
    """
    message = _decode_envelope(data)
    return _parse_payload(message.payload, {}), message


def read_unsigned_trust_list(payload: bytes) -> TrustList:
    """The trust list in an unsigned payload: the CBOR map :func:`sign_trust_list` signs.

    For tools that build a list in one step and sign it in another; nothing read this way is
    trusted. PayloadError (stage ``cbor`` or ``claims``) as for :func:`read_trust_list`.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("a trust list payload is bytes")
    return _parse_payload(bytes(payload), {})


def _decode_envelope(data: bytes) -> cose.CoseSign1:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("a trust list is bytes")
    message = cose.decode_sign1(bytes(data))
    if message.alg is None:
        raise PayloadError("cose", "a trust list needs alg in its protected header")
    kid = message.protected_header.get(cose.HDR_KID)
    if not isinstance(kid, bytes) or len(kid) != _KID_LENGTH:
        raise PayloadError("cose", "a trust list needs an 8-byte kid in its protected header")
    return message


def _parse_payload(payload: bytes, known: Mapping[bytes, Certificate]) -> TrustList:
    """The TrustList in ``payload``; ``known`` reuses certificates parsed before (by DER)."""
    value = cbor.loads_strict(payload)
    top = _map(value, _TOP_KEYS, "the trust list")
    if top["format"] != TRUST_LIST_FORMAT:
        raise PayloadError("claims", f"unknown trust list format {top['format']!r}")
    parsed: dict[bytes, Certificate] = {}

    def certificate(der: object, what: str) -> Certificate:
        if not isinstance(der, bytes):
            raise PayloadError("claims", f"{what} must be DER bytes")
        cert = known.get(der) or parsed.get(der)
        if cert is None:
            try:
                cert = Certificate.from_der(der)
            except CertificateError as exc:
                raise PayloadError("claims", f"{what}: {exc}") from None
            parsed[der] = cert
        return cert

    entries: list[TrustListEntry] = []
    for i, item in enumerate(_list(top["entries"], "entries")):
        where = f"entries[{i}]"
        raw = _map(item, _ENTRY_KEYS, where)
        ders = _list(raw["certificates"], f"{where}.certificates")
        kids = _list(raw["kids"], f"{where}.kids")
        if len(kids) != len(ders) or not all(isinstance(k, bytes) for k in kids):
            raise PayloadError("claims", f"{where}.kids must hold one kid per certificate")
        types = _list(raw["licence_types"], f"{where}.licence_types")
        try:
            entries.append(
                TrustListEntry(
                    uscc=_text(raw["uscc"], f"{where}.uscc"),
                    name=_text(raw["name"], f"{where}.name"),
                    region=_text(raw["region"], f"{where}.region"),
                    level=_text(raw["level"], f"{where}.level"),
                    certificates=tuple(
                        certificate(d, f"{where}.certificates[{n}]") for n, d in enumerate(ders)
                    ),
                    kids=tuple(k for k in kids if isinstance(k, bytes)),
                    licence_types=tuple(_text(t, f"{where}.licence_types") for t in types),
                    valid_from=_read_date(raw["valid_from"], f"{where}.valid_from"),
                    valid_until=_read_date(raw["valid_until"], f"{where}.valid_until"),
                )
            )
        except ConfigurationError as exc:
            raise PayloadError("claims", str(exc)) from None
    roots = tuple(
        certificate(der, f"roots[{n}]") for n, der in enumerate(_list(top["roots"], "roots"))
    )
    seal_makers = tuple(
        certificate(der, f"seal_makers[{n}]")
        for n, der in enumerate(_list(top["seal_makers"], "seal_makers"))
    )
    sequence = top["sequence"]
    if type(sequence) is not int:
        raise PayloadError("claims", "sequence must be an integer")
    try:
        return TrustList(
            issuer=_text(top["issuer"], "issuer"),
            region=_text(top["region"], "region"),
            sequence=sequence,
            issued_at=_read_date(top["issued_at"], "issued_at"),
            next_update=_read_date(top["next_update"], "next_update"),
            entries=tuple(entries),
            roots=roots,
            seal_makers=seal_makers,
        )
    except ConfigurationError as exc:
        raise PayloadError("claims", str(exc)) from None


# -- loader -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Held:
    """What a loader holds, swapped as a whole so that readers never see half a load."""

    lists: Mapping[tuple[str, str], tuple[TrustList, bytes]]  # (list, payload digest)
    by_uscc: Mapping[str, tuple[TrustListEntry, ...]]
    by_kid: Mapping[bytes, tuple[TrustListEntry, ...]]
    certificates: Mapping[bytes, Certificate]  # by DER, reused by the next load


_EMPTY = _Held(MappingProxyType({}), MappingProxyType({}), MappingProxyType({}), {})


class TrustListLoader:
    """Verifies trust lists against trust anchors and keeps the newest per issuer and region.

    ``anchors`` are the certificates whose keys sign trust lists; they are trusted as given
    (a root or a dedicated list-signing certificate), provided they are valid at the time of
    loading. Given as a mapping from a region code to certificates, each anchor is scoped: it
    signs lists only for regions within that one (``"000000"``: the whole country), so a
    province's trust operator cannot vouch for another province's authorities; given as a
    plain collection, every anchor is national. ``grace`` is how long past ``next_update`` a
    list is still fresh; ``clock`` gives the time. Thread-safe: loads are serialised, and
    readers see a whole state or the last one.
    """

    def __init__(
        self,
        *,
        anchors: Iterable[Certificate] | Mapping[str, Iterable[Certificate]],
        grace: timedelta = timedelta(hours=24),
        clock: Clock = system_clock,
    ) -> None:
        by_kid: dict[bytes, list[Certificate]] = {}
        scopes: dict[bytes, set[str]] = {}
        for scope, anchor in _scoped_anchors(anchors):
            if anchor.der not in scopes:
                by_kid.setdefault(anchor.kid, []).append(anchor)
            scopes.setdefault(anchor.der, set()).add(scope)
        if not by_kid:
            raise ConfigurationError("a trust list loader needs at least one anchor")
        if not isinstance(grace, timedelta) or grace < timedelta(0):
            raise ConfigurationError("grace must be a non-negative timedelta")
        if not callable(clock):
            raise ConfigurationError("clock must be a callable returning an aware datetime")
        self._anchors = {kid: tuple(certs) for kid, certs in by_kid.items()}
        self._scopes = {der: tuple(sorted(regions)) for der, regions in scopes.items()}
        self._grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self._held = _EMPTY
        self._version = 0

    def load(self, data: bytes, *, keep_stale: bool = False) -> TrustList:
        """Verify ``data`` and hold it; return the list. TrustListError if refused.

        Loading the list already held (same bytes signed) again is a no-op. A list already
        past its next update plus grace is refused, unless ``keep_stale``: a verifier starting
        from the newest lists it has holds them, and reports ``trust_data_stale`` (cannot
        tell) for the issuers they cover instead of not starting at all.
        """
        now = self._now()
        try:
            message = _decode_envelope(data)
        except PayloadError as exc:
            raise TrustListError(MALFORMED, f"not a trust list: {exc}") from exc
        anchor = self._verify(message, now)
        digest = hashlib.sha256(message.payload).digest()
        with self._lock:
            held = self._held
            try:
                trust_list = _parse_payload(message.payload, held.certificates)
            except PayloadError as exc:
                raise TrustListError(MALFORMED, f"malformed trust list: {exc}") from exc
            if trust_list.issuer != anchor.subject.common_name:
                raise TrustListError(
                    UNTRUSTED_ANCHOR,
                    f"trust list issuer {trust_list.issuer!r} is not its signer "
                    f"{anchor.subject.common_name!r}",
                )
            problem = _outside_scope(trust_list, self._scopes[anchor.der])
            if problem is not None:
                raise TrustListError(
                    UNTRUSTED_ANCHOR, f"trust anchor {anchor.subject.common_name!r}: {problem}"
                )
            if not keep_stale and self._stale(trust_list, now):
                raise TrustListError(
                    STALE,
                    f"trust list {trust_list.issuer} {trust_list.region} "
                    f"#{trust_list.sequence} was due for update at {trust_list.next_update}",
                )
            key = (trust_list.issuer, trust_list.region)
            current = held.lists.get(key)
            if current is not None:
                old, old_digest = current
                if trust_list.sequence < old.sequence:
                    raise TrustListError(
                        ROLLBACK,
                        f"trust list {key[0]} {key[1]} #{trust_list.sequence} is older than "
                        f"#{old.sequence} already held",
                    )
                if trust_list.sequence == old.sequence:
                    if digest == old_digest:
                        return old
                    raise TrustListError(
                        ROLLBACK,
                        f"trust list {key[0]} {key[1]} #{trust_list.sequence} differs from the "
                        "list held under the same sequence",
                    )
            lists = dict(held.lists)
            lists[key] = (trust_list, digest)
            self._held = _index(lists)
            self._version += 1
        return trust_list

    def load_file(self, path: str | os.PathLike[str]) -> TrustList:
        """:meth:`load` the file at ``path``; ConfigurationError if it cannot be read."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read trust list {path}: {exc}") from exc
        return self.load(data)

    def load_url(
        self,
        url: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> TrustList:
        """:meth:`load` the list fetched from ``url`` (http, https or file); FetchError if it
        cannot be fetched within ``max_bytes`` and ``timeout`` (:func:`ezhengzhao.fetch.fetch`).
        """
        return self.load(fetch(url, max_bytes=max_bytes, timeout=timeout))

    def current(self) -> tuple[TrustList, ...]:
        """The lists held, one per issuer and region, ordered by issuer then region."""
        lists = self._held.lists
        return tuple(lists[key][0] for key in sorted(lists))

    def is_stale(self, now: datetime | None = None) -> bool:
        """Whether any held list is past its ``next_update`` plus grace at ``now`` (default:
        the clock). Stale trust data gives "cannot tell", never "valid"."""
        at = self._now() if now is None else _utc_seconds(now, "now", microseconds=True)
        return any(self._stale(lst, at) for lst, _ in self._held.lists.values())

    @property
    def version(self) -> int:
        """Goes up by one each time a new list is held, so a user of :meth:`trust_store_for`
        knows when to build again."""
        return self._version

    @property
    def grace(self) -> timedelta:
        return self._grace

    def stale_lists(
        self,
        at: datetime,
        *,
        regions: Iterable[str] | None = None,
        naming: str | None = None,
    ) -> tuple[TrustList, ...]:
        """The held lists past their ``next_update`` plus grace at ``at``. With ``regions`` or
        ``naming``, only those that could speak of such an issuer: whose scope covers one of
        ``regions``, or that name the authority with USCC ``naming`` (in any entry, valid or
        not). With neither, every stale list."""
        at = _utc_seconds(at, "at", microseconds=True)
        wanted = None if regions is None else tuple(regions)
        lists = self._held.lists
        held = (lists[key][0] for key in sorted(lists))
        return tuple(
            lst
            for lst in held
            if self._stale(lst, at)
            and (
                (wanted is None and naming is None)
                or (naming is not None and lst.entry_for(naming) is not None)
                or (wanted is not None and any(_within(lst.region, r) for r in wanted))
            )
        )

    def entries_for(self, uscc: str, at: datetime) -> tuple[TrustListEntry, ...]:
        """The entries naming ``uscc`` (one per list that names it) valid at ``at``."""
        at = _utc_seconds(at, "at", microseconds=True)
        return tuple(e for e in self._held.by_uscc.get(uscc, ()) if e.is_valid_at(at))

    def trust_store_for(self, base: TrustStore | None = None) -> TrustStore:
        """The TrustStore a verifier checks chains and seals with: every held list's roots,
        seal makers and entry certificates, whatever their validity windows and freshness,
        plus ``base``'s (its allow-list is ignored: the lists decide who issues).

        A verifier built on lists asks :meth:`entries_for` and :meth:`stale_lists` at each
        validation time instead of trusting this snapshot for who may issue what.
        ConfigurationError when there is no root at all.
        """
        held = self._held
        roots: dict[Certificate, None] = {}
        signers: dict[Certificate, None] = {}
        makers: dict[Certificate, None] = {}
        if base is not None:
            roots.update(dict.fromkeys(base.roots))
            signers.update(dict.fromkeys(base.signers))
            makers.update(dict.fromkeys(base.seal_makers))
        allowed: set[str] = set()
        for key in sorted(held.lists):
            trust_list = held.lists[key][0]
            roots.update(dict.fromkeys(trust_list.roots))
            makers.update(dict.fromkeys(trust_list.seal_makers))
            for entry in trust_list.entries:
                signers.update(dict.fromkeys(entry.certificates))
                allowed.add(entry.uscc)
        if not roots:
            raise ConfigurationError("the trust lists held name no root certificate")
        return TrustStore(
            roots=tuple(roots),
            intermediates=() if base is None else base.intermediates,
            allowed_issuers=frozenset(allowed),
            signers=tuple(signers),
            seal_makers=tuple(makers),
        )

    def to_trust_store(self, base: TrustStore | None = None) -> TrustStore:
        """A TrustStore built from the held lists, valid now.

        Roots: ``base``'s and every list's roots. Intermediates: ``base``'s. Seal makers:
        ``base``'s and every list's. Signers: ``base``'s and the certificates of every entry
        valid now. Allowed issuers: the USCCs of
        entries valid now, plus ``base``'s allow-list when it has one — the lists decide who
        issues, so ``base.allowed_issuers=None`` adds nobody. TrustListError
        (``trust_list_stale``) when a held list is stale; ConfigurationError when no list is
        held or there is no root at all.
        """
        now = self._now()
        held = self._held
        if not held.lists:
            raise ConfigurationError("no trust list has been loaded")
        for trust_list, _ in held.lists.values():
            if self._stale(trust_list, now):
                raise TrustListError(
                    STALE,
                    f"trust list {trust_list.issuer} {trust_list.region} "
                    f"#{trust_list.sequence} was due for update at {trust_list.next_update}",
                )
        roots: dict[Certificate, None] = {}
        signers: dict[Certificate, None] = {}
        makers: dict[Certificate, None] = {}
        allowed: set[str] = set()
        if base is not None:
            roots.update(dict.fromkeys(base.roots))
            signers.update(dict.fromkeys(base.signers))
            makers.update(dict.fromkeys(base.seal_makers))
            allowed.update(base.allowed_issuers or ())
        for key in sorted(held.lists):
            trust_list = held.lists[key][0]
            roots.update(dict.fromkeys(trust_list.roots))
            makers.update(dict.fromkeys(trust_list.seal_makers))
            for entry in trust_list.entries:
                if entry.is_valid_at(now):
                    signers.update(dict.fromkeys(entry.certificates))
                    allowed.add(entry.uscc)
        return TrustStore(
            roots=tuple(roots),
            intermediates=() if base is None else base.intermediates,
            allowed_issuers=frozenset(allowed),
            signers=tuple(signers),
            seal_makers=tuple(makers),
        )

    def issuer_may_issue(self, uscc: str, type_code: str) -> bool:
        """Whether a held list names ``uscc``, valid now, for licence type ``type_code``."""
        now = self._now()
        return any(
            type_code in entry.licence_types and entry.is_valid_at(now)
            for entry in self._held.by_uscc.get(uscc, ())
        )

    def issuers_by_kid(self, kid: bytes) -> tuple[TrustListEntry, ...]:
        """The entries, valid now, with a certificate whose kid is ``kid`` (usually one)."""
        now = self._now()
        return tuple(e for e in self._held.by_kid.get(kid, ()) if e.is_valid_at(now))

    # -- internals

    def _now(self) -> datetime:
        return _utc_seconds(self._clock(), "the clock's time", microseconds=True)

    def _stale(self, trust_list: TrustList, now: datetime) -> bool:
        # A difference of datetimes cannot overflow, whatever the grace.
        return now - trust_list.next_update > self._grace

    def _verify(self, message: cose.CoseSign1, now: datetime) -> Certificate:
        """The anchor whose key verifies ``message``, valid now; TrustListError if none."""
        kid = message.kid
        candidates = self._anchors.get(kid, ()) if kid is not None else ()
        if not candidates:
            raise TrustListError(
                UNTRUSTED_ANCHOR, f"no trust anchor has kid {kid.hex() if kid else None}"
            )
        verified = False
        for anchor in candidates:
            try:
                cose.verify_sign1(message, anchor.public_key)
            except CryptoError:
                continue
            verified = True
            if anchor.is_valid_at(now):
                return anchor
        if verified:
            raise TrustListError(UNTRUSTED_ANCHOR, f"the trust anchor is not valid at {now}")
        raise TrustListError(
            SIGNATURE_INVALID, "the trust list's signature does not verify with its anchor"
        )


def _index(lists: dict[tuple[str, str], tuple[TrustList, bytes]]) -> _Held:
    """Lookups over every held list, built once per load."""
    by_uscc: dict[str, list[TrustListEntry]] = {}
    by_kid: dict[bytes, list[TrustListEntry]] = {}
    certificates: dict[bytes, Certificate] = {}
    for key in sorted(lists):
        trust_list = lists[key][0]
        for entry in trust_list.entries:
            by_uscc.setdefault(entry.uscc, []).append(entry)
            for kid, certificate in zip(entry.kids, entry.certificates, strict=True):
                entries = by_kid.setdefault(kid, [])
                if not entries or entries[-1] is not entry:
                    entries.append(entry)
                certificates[certificate.der] = certificate
        for certificate in (*trust_list.roots, *trust_list.seal_makers):
            certificates[certificate.der] = certificate
    return _Held(
        MappingProxyType(lists),
        MappingProxyType({k: tuple(v) for k, v in by_uscc.items()}),
        MappingProxyType({k: tuple(v) for k, v in by_kid.items()}),
        certificates,
    )


# -- helpers ----------------------------------------------------------------------------------


def _is_type_code(code: object) -> bool:
    """A 证照类型代码: 21 characters, a USCC (the defining authority) and three digits."""
    return (
        isinstance(code, str)
        and len(code) == 21
        and codes.is_valid_uscc(code[:18])
        and code[18:].isascii()
        and code[18:].isdigit()
    )


def _is_clean_text(value: object) -> bool:
    return isinstance(value, str) and bool(value) and value == value.strip()


def _scoped_anchors(
    anchors: Iterable[Certificate] | Mapping[str, Iterable[Certificate]],
) -> Iterable[tuple[str, Certificate]]:
    """(scope, anchor) pairs: a mapping scopes by its keys, a collection is national."""
    if isinstance(anchors, Mapping):
        pairs: list[tuple[str, object]] = []
        for scope, certificates in anchors.items():
            if not isinstance(scope, str) or not (
                scope == NATIONAL_REGION or codes.is_valid_region_code(scope)
            ):
                raise ConfigurationError(
                    f"trust anchor scope {scope!r} is neither a 行政区划代码 nor "
                    f"{NATIONAL_REGION} (the whole country)"
                )
            if isinstance(certificates, Certificate | str | bytes):
                raise ConfigurationError(
                    f"trust anchors for {scope} must be a collection of Certificate objects"
                )
            pairs.extend((scope, c) for c in certificates)
    else:
        pairs = [(NATIONAL_REGION, c) for c in anchors]
    for scope, anchor in pairs:
        if not isinstance(anchor, Certificate):
            raise ConfigurationError("trust list anchors must be Certificate objects")
        yield scope, anchor


def _outside_scope(trust_list: TrustList, scopes: tuple[str, ...]) -> str | None:
    """What of ``trust_list`` lies outside every scope of the anchor that signed it, or None.

    A scoped anchor vouches only for authorities of its region: the list's region, each
    entry's 统一社会信用代码 (registered in the scope, GB 32100 characters 3–8), and each
    entry certificate's subject, which must name that very USCC — a certificate naming
    another would let the anchor speak for that other authority (its status lists, say).
    """
    if NATIONAL_REGION in scopes:
        return None
    covering = [scope for scope in scopes if _within(scope, trust_list.region)]
    if not covering:
        return f"signs lists for {', '.join(scopes)} only, not for region {trust_list.region}"
    for entry in trust_list.entries:
        if not any(_within(scope, entry.uscc[2:8]) for scope in covering):
            return (
                f"signs lists for {', '.join(covering)} only, and {entry.uscc} ({entry.name}) "
                "is registered elsewhere"
            )
        for certificate in entry.certificates:
            if certificate.subject.serial_number != entry.uscc:
                return (
                    f"entry {entry.uscc} lists certificate {certificate.kid.hex()}, which names "
                    f"{certificate.subject.serial_number or 'no 统一社会信用代码'}"
                )
    return None


def _within(scope: str, region: str) -> bool:
    """Whether ``region`` lies in ``scope`` (a province, prefecture, county or the nation)."""
    if scope == NATIONAL_REGION:
        return True
    if scope[2:] == "0000":
        return region[:2] == scope[:2]
    if scope[4:] == "00":
        return region[:4] == scope[:4]
    return region == scope


def _utc_seconds(moment: object, what: str, *, microseconds: bool = False) -> datetime:
    """``moment`` in UTC; for a list's own dates, whole seconds a NumericDate can carry."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ConfigurationError(f"{what} must be a timezone-aware datetime")
    moment = moment.astimezone(UTC)
    if microseconds:
        return moment
    if not 0 <= moment.timestamp() < cose.NUMERIC_DATE_MAX:
        raise ConfigurationError(f"{what} must lie between 1970 and the year 3000")
    return moment.replace(microsecond=0)


def _numeric_date(moment: datetime) -> int:
    return int(moment.timestamp())


def _read_date(value: object, what: str) -> datetime:
    # Integers only (cose.numeric_date): RFC 8392 allows float NumericDates, but a float
    # rounds differently on each side and no producer of these lists writes one.
    return cose.numeric_date(value, what)


def _map(value: object, keys: frozenset[str], what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise PayloadError("claims", f"{what} must be a map")
    if value.keys() != keys:
        missing = sorted(keys - value.keys())
        unknown = sorted(repr(k) for k in value.keys() - keys)
        raise PayloadError("claims", f"{what}: missing keys {missing}, unknown keys {unknown}")
    return {str(k): v for k, v in value.items()}


def _list(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise PayloadError("claims", f"{what} must be an array")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise PayloadError("claims", f"{what} must be text")
    return value
