"""Verification — 核验: a sealed licence in, a :class:`VerificationResult` out.

The checks run in the order GB/T 38540 verification takes them (STANDARDS.md §2), each a named
check in the result:

1. ``format``               the document, the licence and the ``SES_Signature`` DER parse;
                            the signature algorithm is known
2. ``signature``            the signer's signature over DER(TBS_Sign)
3. ``seal.signer_listed``   the signer's certificate is in the seal's certList
4. ``seal.maker_signature`` the seal maker's signature over DER(SES_SealInfo)
5. ``seal.maker_chain``     the seal maker's certificate chains to a trusted root
6. ``seal.validity``        validStart ≤ signing time ≤ validEnd
7. ``signer.chain``         the signer's chain, its validity at the signing time, key usage
8. ``data_hash``            dataHash = SM3(canonical licence bytes)
9. ``sealing``              the licence's 签章时间 and 签章名称 are the signature's
10. ``trust.list``          (verifiers built on trust lists) the lists naming the issuer or
                            covering its region are fresh, else INDETERMINATE
                            ``trust_data_stale``
    ``trust.issuer``        the licence's issuer is the certificate's holder and is trusted:
                            with trust lists, an entry names it at the validation time and
                            lists this very certificate
    ``trust.licence_type``  (trust lists) that entry lists the licence's type code
11. ``identifier``          the 证照标识 matches the licence (a bad check character warns)
12. ``validity``            the licence's validity period contains the validation date
13. ``status``              the licence's entry in its status list is VALID, in a list
                            signed by the issuer or an authority of its province (only when
                            the verifier has a ``status_source``: without one, revocation is
                            *not* checked and no ``status`` check appears; SKIPPED when the
                            licence is already refused as not from a trusted issuer, whose
                            status URI is then never fetched)
14. ``rule:<Identifier>``   each mutual-recognition rule of the verifying region that applies
                            (only when the verifier has ``rules`` and a ``region``)

A failure of 1, 2 or 8 ends the verification: nothing after it could be believed. The seal
and certificate checks are cached by digest, since one seal and chain sign every licence of an
authority: in steady state a verification costs one signature check.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Hashable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, Generic, TypeVar

from ezhengzhao import codes
from ezhengzhao.clock import CHINA_STANDARD_TIME, Clock, system_clock
from ezhengzhao.errors import (
    AlgorithmMismatchError,
    CertificateError,
    CodeError,
    ConfigurationError,
    CryptoError,
    DecodeError,
    LicenceFormatError,
    PayloadError,
    UnsupportedAlgorithmError,
)
from ezhengzhao.formats import cose
from ezhengzhao.formats.cose import CoseSign1
from ezhengzhao.formats.licence_json import (
    licence_canonical_bytes,
    licence_from_dict,
    licence_to_dict,
)
from ezhengzhao.formats.sealed import SealedLicence, parse_sealed_document
from ezhengzhao.model import Issuer, Licence, StatusReference
from ezhengzhao.qr.payload import QrClaims, decode_qr_text, parse_claims
from ezhengzhao.result import Check, CheckStatus, VerificationResult, overall
from ezhengzhao.rules.rulesets import RuleSetLoader, evaluate_rules
from ezhengzhao.sign.keys import PreparedVerifier
from ezhengzhao.sign.sealing import seal_lists_certificate
from ezhengzhao.sign.ses import Seal, SESSignature, parse_seal, parse_ses_signature, sm3
from ezhengzhao.sign.suites import suite_for_signature_oid
from ezhengzhao.sign.x509 import Certificate, check_chain
from ezhengzhao.status.codec import INVALID, SUSPENDED, VALID
from ezhengzhao.status.source import StatusSource, StatusUnavailable
from ezhengzhao.trust.lists import TrustListEntry, TrustListLoader
from ezhengzhao.trust.store import TrustStore

__all__ = ["CHINA_STANDARD_TIME", "Clock", "Verifier", "system_clock"]


def _looks_like_qr(document: str | bytes) -> bool:
    """Anything but a JSON object is taken for scanned text: a foreign QR code then gets the
    clear answer "not a licence code" rather than "malformed document"."""
    head = document[:64]
    head = (
        head.removeprefix("\ufeff") if isinstance(head, str) else head.removeprefix(b"\xef\xbb\xbf")
    )
    head = head.lstrip()
    return bool(head) and head[:1] not in ("{", b"{")


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _BoundedCache(Generic[K, V]):
    """A small thread-safe cache that forgets everything when full (entries are cheap to redo)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = value


class _Stop(Exception):
    """Ends a verification after a check whose failure makes the rest meaningless."""


class _TrustState:
    """What a verifier derives from one trust store, swapped as a whole when the trust lists
    change, so that a verification running meanwhile sees the old state or the new one, never
    a mix; each verification reads it once."""

    __slots__ = ("chain_cache", "kid_index", "seal_makers", "store", "windows")

    def __init__(self, store: TrustStore, cache_size: int) -> None:
        self.store = store
        self.chain_cache: set[bytes] = set()
        self.windows: _BoundedCache[bytes, tuple[datetime, datetime]] = _BoundedCache(cache_size)
        grouped: dict[bytes, list[Certificate]] = {}
        for cert in store.signers:
            grouped.setdefault(cert.kid, []).append(cert)
        self.kid_index = {kid: tuple(certs) for kid, certs in grouped.items()}
        self.seal_makers = frozenset(c.der for c in store.seal_makers)


class Verifier:
    """Verifies sealed licences against a trust store — 核验器.

    ``clock`` returns the validation time (aware); ``region`` is the verifying 行政区划代码,
    recorded in results. A Verifier is thread-safe and meant to be built once and reused: its
    caches only ever add or forget entries (single operations under the GIL, or under a lock),
    and a forgotten entry is simply checked again.

    ``status_source`` gives the status lists that revocation is checked against; a verifier
    without one does **not** check revocation (its results have no ``status`` check). Its
    ``status_list`` is told the issuer (``issuer=`` USCC) and must refuse a list whose signer
    does not speak for that issuer (:func:`ezhengzhao.status.speaks_for`).
    ``rules`` holds the mutual-recognition rule sets; they are applied only when ``region``
    is given too.
    """

    def __init__(
        self,
        *,
        trust_store: TrustStore | None = None,
        trust_lists: TrustListLoader | None = None,
        clock: Clock = system_clock,
        region: str | None = None,
        clock_skew: timedelta = timedelta(minutes=5),
        cache_size: int = 4096,
        status_source: StatusSource | None = None,
        rules: RuleSetLoader | None = None,
    ) -> None:
        if trust_store is None and trust_lists is None:
            raise ConfigurationError(
                "a Verifier needs trust lists or a TrustStore; there is no verifier without trust"
            )
        if trust_store is not None and not isinstance(trust_store, TrustStore):
            raise ConfigurationError("trust_store must be a TrustStore")
        if trust_lists is not None:
            if not isinstance(trust_lists, TrustListLoader):
                raise ConfigurationError("trust_lists must be a TrustListLoader")
            if not trust_lists.current():
                raise ConfigurationError("the trust list loader holds no list yet")
        if not isinstance(clock_skew, timedelta) or clock_skew < timedelta(0):
            raise ConfigurationError("clock_skew must be a non-negative timedelta")
        if region is not None and not codes.is_valid_region_code(region):
            raise ConfigurationError(f"verifying region {region!r} is not a valid 行政区划代码")
        if status_source is not None:
            _check_status_source(status_source)
        if rules is not None and not isinstance(rules, RuleSetLoader):
            raise ConfigurationError("rules must be a RuleSetLoader")
        self._status_source = status_source
        self._rules = rules
        self._base_trust = trust_store
        self._lists = trust_lists
        self._clock = clock
        self._region = region
        self._skew = clock_skew
        self._certs: _BoundedCache[bytes, Certificate] = _BoundedCache(cache_size)
        self._seals: _BoundedCache[tuple[int, bytes, bytes], Seal] = _BoundedCache(cache_size)
        self._verified_seals: set[Seal] = set()
        # Few: one per seal and signer in use; each holds the seal's bytes and a hash state.
        self._prepared_keys: _BoundedCache[tuple[bytes, bytes, bytes], PreparedVerifier] = (
            _BoundedCache(min(cache_size, 64))
        )
        self._cache_size = cache_size
        self._trust_lock = threading.Lock()
        self._lists_version = -1
        if trust_lists is not None:
            self._lists_version = trust_lists.version
            self._use_trust_store(trust_lists.trust_store_for(trust_store))
        elif trust_store is not None:
            self._use_trust_store(trust_store)

    @classmethod
    def from_directory(
        cls,
        path: str | os.PathLike[str],
        *,
        region: str | None = None,
        clock: Clock = system_clock,
        clock_skew: timedelta = timedelta(minutes=5),
    ) -> Verifier:
        """The verifier a data directory configures: ``trust/`` (see
        :func:`~ezhengzhao.trust.directory.load_trust_directory`; trust lists are the normal
        way), and when present ``status/`` (``index.json`` and signed status lists, checked
        against the trusted signers) and ``rules/`` (signed rule sets, applied when ``region``
        is given).

        ConfigurationError (or the list's own error) when the data cannot be trusted.
        """
        from ezhengzhao.status.source import FileStatusSource
        from ezhengzhao.trust.directory import load_trust_directory

        base = Path(path)
        store, lists = load_trust_directory(base / "trust", clock=clock)
        status_source = None
        if (base / "status" / "index.json").is_file():
            # Status lists are signed by the issuing authorities the trust data names.
            trusted = lists.trust_store_for(store) if lists is not None else store
            assert trusted is not None  # load_trust_directory gives one kind of trust at least
            status_source = FileStatusSource.from_directory(base / "status", trusted.signers)
        rules = None
        if region is not None and (base / "rules").is_dir():
            rules = RuleSetLoader.from_directory(base / "rules", clock=clock)
        return cls(
            trust_store=store,
            trust_lists=lists,
            clock=clock,
            region=region,
            clock_skew=clock_skew,
            status_source=status_source,
            rules=rules,
        )

    def _use_trust_store(self, store: TrustStore) -> None:
        """Adopt ``store`` and forget everything derived from the previous one."""
        self._state = _TrustState(store, self._cache_size)

    def _trust_state(self) -> _TrustState:
        """The current trust state, following the trust list loader: a new list held means
        new roots, signers and seal makers (one integer compare when nothing changed)."""
        lists = self._lists
        if lists is not None and lists.version != self._lists_version:
            with self._trust_lock:
                version = lists.version
                if version != self._lists_version:
                    self._use_trust_store(lists.trust_store_for(self._base_trust))
                    self._lists_version = version
        return self._state

    @property
    def trust_store(self) -> TrustStore:
        return self._trust_state().store

    @property
    def trust_lists(self) -> TrustListLoader | None:
        return self._lists

    def verify(self, document: bytes | str | SealedLicence) -> VerificationResult:
        """Verify a sealed licence (``ezz/sealed/1`` JSON, a :class:`SealedLicence`) or an
        ``EZZ1:`` QR text — the text a scanner gun types is accepted as it comes.

        Never raises for a bad document: every problem is a check in the result.
        """
        if isinstance(document, str | bytes) and _looks_like_qr(document):
            text = document if isinstance(document, str) else document.decode("ascii", "replace")
            return self.verify_qr(text)
        run = _SealedRun(self, self._now())
        try:  # noqa: SIM105 — contextlib.suppress costs an object and two calls a licence
            run.execute(document)
        except _Stop:
            pass
        lic = run.licence if run.intact else None
        return self._result(run, licence=lic, issuer=None if lic is None else lic.issuer)

    def verify_qr(self, text: str) -> VerificationResult:
        """Verify an offline ``EZZ1:`` QR text; the result carries the decoded claims and,
        when a trust list names the issuer, the issuer as the list describes it."""
        run = _QrRun(self, self._now())
        try:  # noqa: SIM105 — contextlib.suppress costs an object and two calls a licence
            run.execute(text)
        except _Stop:
            pass
        issuer = None
        if run.intact and run.entry is not None:
            e = run.entry
            issuer = Issuer(name=e.name, code=e.uscc, region_code=e.region, level=e.level)
        return self._result(run, claims=run.claims if run.intact else None, issuer=issuer)

    def verify_image(self, image: bytes) -> tuple[VerificationResult, ...]:
        """Verify every QR code in a photo or scan, in reading order.

        Raises ImageError when the image cannot be read or holds no QR code at all; a code
        that is not a licence code gives a FAILED result.
        """
        from ezhengzhao.qr.scan import scan_image

        return tuple(self.verify_qr(text) for text in scan_image(image))

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigurationError("the verifier's clock must return aware datetimes")
        return now.astimezone(UTC)

    def _result(
        self,
        run: _Checks,
        *,
        licence: Licence | None = None,
        issuer: Issuer | None = None,
        claims: QrClaims | None = None,
    ) -> VerificationResult:
        checks = tuple(run.checks)
        return VerificationResult(
            status=overall(checks),
            checks=checks,
            validation_time=run.now,
            licence=licence,
            issuer=issuer,
            verifying_region=self._region,
            suite=run.suite,
            warnings=tuple(c.reason for c in checks if c.status is _WARNING),
            claims=claims,
        )

    # ------------------------------------------------------------ cached building blocks

    def _certificate(self, der: bytes) -> Certificate:
        cert = self._certs.get(der)
        if cert is None:
            cert = Certificate.from_der(der)
            self._certs.put(der, cert)
        return cert

    def _seal(self, der: bytes) -> Seal:
        """The parsed seal, remembered by its DER."""
        # Looked up by length and ends, then compared whole: a byte comparison of the seal
        # (several KB with its picture) is cheaper than hashing it.
        key = (len(der), der[:64], der[-64:])
        seal = self._seals.get(key)
        if seal is None or seal.der != der:
            seal = parse_seal(der)
            self._seals.put(key, seal)
        return seal

    def _prepared(self, cert: Certificate, parts: SESSignature) -> PreparedVerifier:
        """The signer's key prepared with the start of TBS_Sign up to the end of the seal.

        That start is the same in every licence sealed with one seal by one signer, so the
        hash state after it is kept (by the certificate, TBS_Sign's header and the seal: the
        cached seal's and certificate's bytes objects hash once, not per licence).
        """
        end = parts.seal_end
        header = parts.tbs_der[: end - len(parts.seal.der)]
        key = (cert.der, header, parts.seal.der)
        prepared = self._prepared_keys.get(key)
        if prepared is None:
            prepared = cert.public_key.prepare(parts.tbs_der[:end])
            self._prepared_keys.put(key, prepared)
        return prepared

    def _seal_signature_ok(self, seal: Seal) -> None:
        """Check the maker's signature over the seal once per distinct seal."""
        # Seals are frozen values, so a set of them remembers which ones verified; hashing one
        # walks its fields (a few µs), far less than the maker's signature check it spares.
        if seal in self._verified_seals:
            return
        maker = self._certificate(seal.maker_cert)
        maker.public_key.verify(seal.signed_value, seal.signed_content, algorithm=seal.sign_alg_oid)
        if len(self._verified_seals) >= self._cache_size:
            self._verified_seals.clear()
        self._verified_seals.add(seal)

    def _chain(self, state: _TrustState, cert: Certificate, at: datetime) -> None:
        # A chain that checked out is good for any time inside all its certificates' validity;
        # remembering that window spares the path building for every licence after the first.
        window = state.windows.get(cert.der)
        if window is not None and window[0] <= at <= window[1]:
            return
        if len(state.chain_cache) > 16 * self._cache_size:
            state.chain_cache.clear()
        path = check_chain(
            cert,
            roots=state.store.roots,
            intermediates=state.store.intermediates,
            at=at,
            key_usage="digitalSignature",
            verified=state.chain_cache,
        )
        state.windows.put(
            cert.der, (max(c.not_before for c in path), min(c.not_after for c in path))
        )


#: The checks that say whether the licence comes from a trusted issuer at all.
_AUTHENTICITY: Final = frozenset(
    {
        "signature",
        "seal.signer_listed",
        "seal.maker_signature",
        "seal.maker_chain",
        "signer.chain",
        "data_hash",
        "trust.issuer",
    }
)

# TBS_Sign starts up to this long (header, version, seal) have their hash state kept; a seal
# is some KB with its picture, and the limit keeps a cache entry's size bounded.
_PREPARED_PREFIX_MAX: Final = 256 * 1024

# Enum members as module constants: reading one off its class goes through the enum
# metaclass, which costs more than a check in loops over every check of a verification.
_PASSED: Final = CheckStatus.PASSED
_FAILED: Final = CheckStatus.FAILED
_WARNING: Final = CheckStatus.WARNING
# Check is a frozen value; a pass carries no detail, so one instance per check name serves
# every verification (building a frozen dataclass costs more than most checks themselves).
_PASSED_CHECKS: dict[str, Check] = {}


class _Checks:
    """The checks common to every kind of verification; one instance per call."""

    def __init__(self, verifier: Verifier, now: datetime) -> None:
        self.v = verifier
        self.trust = verifier._trust_state()
        self.now = now
        self.checks: list[Check] = []
        self.suite: str | None = None
        self.entry: TrustListEntry | None = None

    def add(self, name: str, status: CheckStatus, reason: str = "ok", detail: str = "") -> None:
        if reason == "ok" and not detail and status is _PASSED:
            self.passed(name)
        else:
            self.checks.append(Check(name, status, reason, detail))

    def passed(self, name: str) -> None:
        """Record a plain pass: one shared frozen Check per name, since most checks pass."""
        check = _PASSED_CHECKS.get(name)
        if check is None:
            check = Check(name, _PASSED, "ok", "")
            if len(_PASSED_CHECKS) < 1024:  # rule names come from data: keep the table small
                _PASSED_CHECKS[name] = check
        self.checks.append(check)

    def fail(self, name: str, reason: str, detail: str = "", *, stop: bool = False) -> None:
        self.add(name, CheckStatus.FAILED, reason, detail)
        if stop:
            raise _Stop

    def check_signer_chain(self, cert: Certificate, signed_at: datetime) -> None:
        """The signer's certificate chains to a root and was valid when it signed."""
        if signed_at > self.now + self.v._skew:
            self.fail(
                "signer.chain", "signing_time_in_future", f"signed {signed_at:%Y-%m-%dT%H:%M:%SZ}"
            )
            return
        try:
            self.v._chain(self.trust, cert, signed_at)
        except CertificateError as exc:
            reason = _CHAIN_REASONS.get(exc.reason, "certificate_invalid")
            self.fail("signer.chain", reason, str(exc))
            return
        self.passed("signer.chain")

    def check_issuer(
        self,
        cert: Certificate,
        issuer_code: str,
        issuer_name: str | None,
        *,
        type_code: str,
        issuer_region: str,
        claims_region: bool = False,
    ) -> None:
        """The issuer the licence names (USCC and, when it names one, its name) is the
        certificate's holder, and is accepted: by the trust lists when the verifier has them
        (fresh, naming the issuer with this certificate and this licence type, in the region
        the licence gives when ``claims_region``), else by the trust store's allow-list."""
        bound = cert.subject.serial_number
        if bound != issuer_code:
            self.fail(
                "trust.issuer",
                "issuer_mismatch",
                f"licence names {issuer_code}, certificate names {bound or 'no 统一社会信用代码'}",
            )
            return
        if issuer_name is not None and cert.subject.organization != issuer_name:
            self.fail(
                "trust.issuer",
                "issuer_mismatch",
                f"licence names {issuer_name}, certificate names "
                f"{cert.subject.organization or 'no organisation'}",
            )
            return
        lists = self.v._lists
        if lists is None:
            allowed = self.trust.store.allowed_issuers
            if allowed is not None and issuer_code not in allowed:
                self.fail(
                    "trust.issuer", "issuer_untrusted", f"{issuer_name or ''} ({issuer_code})"
                )
                return
            self.passed("trust.issuer")
            return
        self.check_lists_fresh(lists, issuer_code, issuer_region)
        listed = lists.entries_for(issuer_code, self.now)
        if not listed:
            self.fail(
                "trust.issuer",
                "issuer_untrusted",
                f"{issuer_name or ''} ({issuer_code}) is named by no trust list at the "
                "validation time",
            )
            return
        entries = [e for e in listed if cert in e.certificates]
        if not entries:
            self.fail(
                "trust.issuer",
                "signer_not_listed",
                f"{listed[0].name} ({issuer_code}): certificate {cert.kid.hex()} is not listed",
            )
            return
        if claims_region and not any(e.region == issuer_region for e in entries):
            self.fail(
                "trust.issuer",
                "issuer_mismatch",
                f"licence names region {issuer_region}, the trust list {entries[0].region}",
            )
            return
        self.passed("trust.issuer")
        allowed_entries = [e for e in entries if type_code in e.licence_types]
        if not allowed_entries:
            self.entry = entries[0]
            self.fail(
                "trust.licence_type",
                "licence_type_not_listed",
                f"{entries[0].name} ({issuer_code}) is not listed for licence type {type_code}",
            )
            return
        self.entry = allowed_entries[0]
        self.passed("trust.licence_type")

    def check_lists_fresh(self, lists: TrustListLoader, issuer_code: str, region: str) -> None:
        """Stale trust data cannot say who may issue: "cannot tell", never "valid".

        The lists that count are those naming the issuer (valid entry or not) and those whose
        scope covers the region the licence gives or the USCC was registered in — a licence
        claiming another region than its own cannot pick a fresher list to be judged by.
        """
        regions = {region, issuer_code[2:8]}
        stale = lists.stale_lists(self.now, regions=regions, naming=issuer_code)
        if stale:
            self.add(
                "trust.list",
                CheckStatus.INDETERMINATE,
                "trust_data_stale",
                ", ".join(
                    f"{t.issuer} {t.region} #{t.sequence} due {t.next_update:%Y-%m-%dT%H:%M:%SZ}"
                    for t in stale
                ),
            )
        else:
            self.passed("trust.list")

    def check_identifier(
        self, licence_id: str, type_code: str, issuer_code: str, version: int | None
    ) -> None:
        """The 证照标识 names this type, issuer (and version); a bad check character warns."""
        try:
            parsed = codes.parse_licence_id(licence_id, strict_check=False)
        except CodeError as exc:
            self.fail("identifier", "licence_id_mismatch", str(exc))
            return
        if parsed.type_code != type_code or parsed.issuer_code != issuer_code:
            self.fail(
                "identifier",
                "licence_id_mismatch",
                "the 证照标识 names another licence type or issuer",
            )
        elif version is not None and parsed.version != version:
            self.fail("identifier", "licence_id_mismatch", "the 证照标识 names another version")
        elif not parsed.check_ok:
            self.add("identifier", CheckStatus.WARNING, "licence_id_check_failed", licence_id)
        else:
            self.passed("identifier")

    def check_validity(self, start: date, end: date | None) -> None:
        """The validity period contains the validation date in China."""
        today: date = self.now.astimezone(CHINA_STANDARD_TIME).date()
        if today < start:
            self.fail("validity", "licence_not_yet_valid", f"valid from {start}")
        elif end is not None and today > end:
            self.fail("validity", "licence_expired", f"valid until {end}")
        else:
            self.passed("validity")

    def check_status(self, reference: StatusReference | None, issuer_code: str) -> None:
        """The licence's entry in its status list (only with a status source), from a list
        whose signer speaks for ``issuer_code`` (the issuer or an authority of its province)."""
        source = self.v._status_source
        if source is None:
            return
        untrusted = next(
            (c for c in self.checks if c.name in _AUTHENTICITY and c.status is _FAILED),
            None,
        )
        if untrusted is not None:
            # The licence is already refused; fetching a URI an untrusted signer wrote would
            # only let anyone who can submit a document make the verifier fetch it.
            self.add("status", CheckStatus.SKIPPED, "status_not_checked", untrusted.reason)
            return
        if reference is None:
            self.add("status", CheckStatus.PASSED, detail="no status reference")
            return
        try:
            status_list = source.status_list(reference.uri, self.now, issuer=issuer_code)
        except StatusUnavailable as exc:
            self.add("status", CheckStatus.INDETERMINATE, "status_unavailable", str(exc))
            return
        if not 0 <= reference.idx < status_list.size:
            self.fail(
                "status",
                "status_index_invalid",
                f"index {reference.idx}, list {reference.uri} has {status_list.size} entries",
            )
            return
        value = status_list.get(reference.idx)
        if value == VALID:
            self.passed("status")
        elif value == INVALID:
            self.fail("status", "licence_revoked", reference.uri)
        elif value == SUSPENDED:
            self.fail("status", "licence_suspended", reference.uri)
        else:  # 3 and above are application-specific: nothing here may call them valid
            self.add(
                "status",
                CheckStatus.INDETERMINATE,
                "status_unavailable",
                f"unknown status {value} in {reference.uri}",
            )

    @property
    def rules_apply(self) -> bool:
        """Whether the verifier applies rules at all: it has rule sets and a region."""
        return self.v._rules is not None and self.v._region is not None

    def check_rules(
        self,
        type_code: str,
        licence: Mapping[str, object],
        issuer_region: str,
        issuer_level: str,
    ) -> None:
        """The verifying region's mutual-recognition rules (only with rules and a region).

        ``licence`` is the ``payload.licence`` object of rulesets.py; ``issuer_region`` a
        region code of the issuer (its province is what rules see as issuerRegion).
        """
        loader, region = self.v._rules, self.v._region
        if loader is None or region is None:
            return
        rules = loader.rules_for(region, type_code, self.now)
        if not rules:
            self.add("rules", CheckStatus.PASSED, detail="no rules apply")
            return
        try:
            province = codes.province_of(issuer_region).code
        except CodeError:
            province = ""
        external = {
            "validationClock": self.now.astimezone(CHINA_STANDARD_TIME).isoformat(),
            "verifierRegion": region,
            "issuerRegion": province,
            "issuerLevel": issuer_level,
            "useCase": "",
            "valueSets": {},
        }
        for outcome in evaluate_rules(rules, {"licence": licence}, external):
            name = f"rule:{outcome.rule.identifier}"
            if outcome.passed is True:
                self.passed(name)
            elif outcome.passed is False:
                self.fail(
                    name,
                    "not_recognised_in_region",
                    f"{outcome.rule.identifier} {outcome.rule.description_in('zh')}",
                )
            else:
                self.add(
                    name,
                    CheckStatus.INDETERMINATE,
                    "rules_indeterminate",
                    f"{outcome.rule.identifier}: {outcome.detail}",
                )


def _check_status_source(source: object) -> None:
    """A status source must take ``status_list(uri, now, issuer=…)``: a source that cannot be
    told whose licence asks could hand one issuer's licences a list signed by anyone. Only the
    signature is checked here; honouring ``issuer`` is the source's part of the protocol."""
    method = getattr(source, "status_list", None)
    if not callable(method):
        raise ConfigurationError(
            "status_source must have a status_list(uri, now, *, issuer=None) method"
        )
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin): trust the protocol
        return
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    issuer = parameters.get("issuer")
    takes_issuer = (issuer is not None and issuer.kind in by_keyword) or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    if not takes_issuer:
        raise ConfigurationError(
            "status_source.status_list must take an issuer= keyword (the licence issuer's "
            "统一社会信用代码), and refuse lists whose signer does not speak for that issuer"
        )


def _holder_code_type(code: str) -> str:
    """持证主体代码类型 of a holder code a QR code carries: 001 for a USCC, else 111."""
    return "001" if codes.is_valid_uscc(code) else "111"


class _SealedRun(_Checks):
    """One verification of a sealed licence (``ezz/sealed/1``)."""

    def __init__(self, verifier: Verifier, now: datetime) -> None:
        super().__init__(verifier, now)
        self.licence: Licence | None = None
        self.intact = False

    def execute(self, document: bytes | str | SealedLicence) -> None:
        licence_object, parts = self.check_format(document)
        assert self.licence is not None
        lic = self.licence
        cert = self.check_signature(parts)
        self.check_seal(parts, cert)
        self.check_signer_chain(cert, parts.time_info)
        self.check_data_hash(parts, licence_object)
        self.check_sealing(parts)
        self.check_issuer(
            cert,
            lic.issuer.code,
            lic.issuer.name,
            type_code=lic.type_code,
            issuer_region=lic.issuer.region_code,
            claims_region=True,
        )
        self.check_identifier(lic.licence_id, lic.type_code, lic.issuer.code, lic.version)
        self.check_validity(lic.validity.start, lic.validity.end)
        self.check_status(lic.status, lic.issuer.code)
        # With trust lists, the list's word on the issuer's region and level is what rules
        # see; the licence's own is only what the issuer says of itself.
        region, level = lic.issuer.region_code, lic.issuer.level
        if self.entry is not None:
            region, level = self.entry.region, self.entry.level
        if not self.rules_apply:  # what follows is built only for rules to read
            return
        self.check_rules(
            lic.type_code,
            {
                "id": lic.licence_id,
                "type_code": lic.type_code,
                "issuer": {"code": lic.issuer.code, "region_code": region, "level": level},
                "validity": {
                    "start": lic.validity.start.isoformat(),
                    "end": None if lic.validity.end is None else lic.validity.end.isoformat(),
                },
                "holder": {"code_type": lic.holder.code_type},
            },
            region,
            level,
        )

    # 1 ---------------------------------------------------------------- format
    def check_format(
        self, document: bytes | str | SealedLicence
    ) -> tuple[dict[str, object], SESSignature]:
        try:
            if isinstance(document, SealedLicence):
                licence_object = licence_to_dict(document.licence)
                der = document.ses_signature
            else:
                doc = parse_sealed_document(document)
                licence_object, der = doc.licence_object, doc.ses_signature
        except DecodeError as exc:
            self.fail("format", "format_invalid", str(exc), stop=True)
        try:
            self.licence = licence_from_dict(licence_object)
        except LicenceFormatError as exc:
            self.fail("format", "licence_invalid", str(exc), stop=True)
        try:
            signature = parse_ses_signature(der, seal_parser=self.v._seal)
        except DecodeError as exc:
            self.fail("format", "seal_format_invalid", str(exc), stop=True)
        critical = [
            e.ext_id for e in (*signature.ext_datas, *signature.seal.info.ext_datas) if e.critical
        ]
        if critical:  # fail closed: an extension we do not understand may change the meaning
            self.fail(
                "format",
                "seal_format_invalid",
                f"unknown critical extension {critical[0]}",
                stop=True,
            )
        try:
            self.suite = suite_for_signature_oid(signature.signature_alg_oid).id
        except UnsupportedAlgorithmError as exc:
            self.fail("format", "unsupported_algorithm", str(exc), stop=True)
        self.passed("format")
        return licence_object, signature

    # 2 ---------------------------------------------------------------- signature
    def check_signature(self, parts: SESSignature) -> Certificate:
        try:
            cert = self.v._certificate(parts.signer_cert)
        except CertificateError as exc:
            self.fail("signature", "certificate_invalid", str(exc), stop=True)
        try:
            end = parts.seal_end
            if 0 < end <= _PREPARED_PREFIX_MAX:
                self.v._prepared(cert, parts).verify(
                    parts.signature, parts.tbs_der[end:], algorithm=parts.signature_alg_oid
                )
            else:
                cert.public_key.verify(
                    parts.signature, parts.tbs_der, algorithm=parts.signature_alg_oid
                )
        except AlgorithmMismatchError as exc:
            self.fail("signature", "algorithm_mismatch", str(exc), stop=True)
        except CryptoError as exc:
            self.fail("signature", "signature_invalid", str(exc), stop=True)
        self.passed("signature")
        return cert

    # 3-6 -------------------------------------------------------------- seal
    def check_seal(self, parts: SESSignature, cert: Certificate) -> None:
        seal = parts.seal
        if seal_lists_certificate(seal, cert.der):
            self.passed("seal.signer_listed")
        else:
            self.fail("seal.signer_listed", "signer_not_in_seal", f"seal {seal.info.es_id}")
        maker_ok = True
        try:
            self.v._seal_signature_ok(seal)
            self.passed("seal.maker_signature")
        except (CryptoError, CertificateError) as exc:
            maker_ok = False
            self.fail("seal.maker_signature", "seal_signature_invalid", str(exc))
        if maker_ok and seal.maker_cert not in self.trust.seal_makers:
            self.fail("seal.maker_chain", "seal_maker_untrusted", "not a recognised seal maker")
        elif maker_ok:
            try:
                self.v._chain(
                    self.trust, self.v._certificate(seal.maker_cert), seal.info.create_date
                )
                self.passed("seal.maker_chain")
            except CertificateError as exc:
                self.fail("seal.maker_chain", "seal_maker_untrusted", f"{exc.reason}: {exc}")
        else:
            self.add("seal.maker_chain", CheckStatus.SKIPPED, "seal_signature_invalid")
        info = seal.info
        if parts.time_info < info.valid_start:
            self.fail(
                "seal.validity",
                "seal_not_yet_valid",
                f"signed {parts.time_info:%Y-%m-%d}, seal valid from {info.valid_start:%Y-%m-%d}",
            )
        elif parts.time_info > info.valid_end:
            self.fail(
                "seal.validity",
                "seal_expired",
                f"signed {parts.time_info:%Y-%m-%d}, seal valid until {info.valid_end:%Y-%m-%d}",
            )
        else:
            self.passed("seal.validity")

    # 8 ---------------------------------------------------------------- data hash
    def check_data_hash(self, parts: SESSignature, licence_object: dict[str, object]) -> None:
        if sm3(licence_canonical_bytes(licence_object)) != parts.data_hash:
            self.fail("data_hash", "data_hash_mismatch", stop=True)
        self.passed("data_hash")
        self.intact = True

    # 9 ---------------------------------------------------------------- sealing details
    def check_sealing(self, parts: SESSignature) -> None:
        """The licence's own 签章时间 and 签章名称 must be those of the signature it carries."""
        assert self.licence is not None
        sealing = self.licence.sealing
        if sealing is None:
            self.passed("sealing")
        elif sealing.signed_at != parts.time_info:
            self.fail(
                "sealing",
                "sealing_mismatch",
                f"licence says signed {sealing.signed_at:%Y-%m-%dT%H:%M:%SZ}, "
                f"signature says {parts.time_info:%Y-%m-%dT%H:%M:%SZ}",
            )
        elif sealing.seal_name != parts.seal.info.name:
            self.fail(
                "sealing",
                "sealing_mismatch",
                f"licence names seal {sealing.seal_name}, signature's seal is "
                f"{parts.seal.info.name}",
            )
        else:
            self.passed("sealing")


class _QrRun(_Checks):
    """One verification of an offline ``EZZ1:`` QR text."""

    def __init__(self, verifier: Verifier, now: datetime) -> None:
        super().__init__(verifier, now)
        self.claims: QrClaims | None = None
        self.intact = False

    def execute(self, text: str) -> None:
        message = self.check_format(text)
        cert = self.check_signature(message)
        claims = self.check_claims(message)
        self.check_signer_chain(cert, claims.issued_at)
        # A QR code carries no issuer region or level. Without trust lists the region is the
        # one the issuer's USCC was registered in (characters 3–8) and the level is unknown
        # ("") — a rule that asks for a level then refuses, or cannot tell; with trust lists,
        # the entry naming the issuer says both.
        issuer_region, issuer_level = claims.issuer_code[2:8], ""
        self.check_issuer(
            cert,
            claims.issuer_code,
            None,
            type_code=claims.type_code,
            issuer_region=issuer_region,
        )
        if self.entry is not None:
            issuer_region, issuer_level = self.entry.region, self.entry.level
        self.check_identifier(claims.licence_id, claims.type_code, claims.issuer_code, None)
        self.check_expiry(claims, cert)
        self.check_validity(claims.valid_from, claims.valid_until)
        self.check_status(claims.status, claims.issuer_code)
        if not self.rules_apply:  # what follows is built only for rules to read
            return
        self.check_rules(
            claims.type_code,
            {
                "id": claims.licence_id,
                "type_code": claims.type_code,
                "issuer": {
                    "code": claims.issuer_code,
                    "region_code": issuer_region,
                    "level": issuer_level,
                },
                "validity": {
                    "start": claims.valid_from.isoformat(),
                    "end": None if claims.valid_until is None else claims.valid_until.isoformat(),
                },
                "holder": {"code_type": _holder_code_type(claims.holder_code)},
            },
            issuer_region,
            issuer_level,
        )

    def check_format(self, text: str) -> CoseSign1:
        try:
            message = decode_qr_text(text)
        except PayloadError as exc:
            self.fail("format", f"qr_{exc.stage}_invalid", str(exc), stop=True)
        alg = message.alg
        suite = cose.COSE_ALG_SUITES.get(alg) if isinstance(alg, int) else None
        if suite is None:
            self.fail("format", "unsupported_algorithm", f"COSE algorithm {alg}", stop=True)
        self.suite = suite
        self.passed("format")
        return message

    def check_claims(self, message: CoseSign1) -> QrClaims:
        """Read the claims only once they are known to come from the signer."""
        try:
            claims = parse_claims(message.payload)
        except PayloadError as exc:
            self.fail("claims", "qr_claims_invalid", str(exc), stop=True)
        self.claims = claims
        self.intact = True
        self.passed("claims")
        return claims

    def check_signature(self, message: CoseSign1) -> Certificate:
        kid = message.kid
        candidates = self.trust.kid_index.get(kid, ()) if kid is not None else ()
        if not candidates:
            detail = "no kid" if kid is None else f"kid {kid.hex()}"
            self.fail("signature", "kid_unknown", detail, stop=True)
        # Kids are 8 bytes and may collide: every certificate with this kid is tried.
        reason, detail = "signature_invalid", ""
        for cert in candidates:
            try:
                cose.verify_sign1(message, cert.public_key)
            except AlgorithmMismatchError as exc:
                reason, detail = "algorithm_mismatch", str(exc)
                continue
            except (CryptoError, CertificateError) as exc:
                detail = str(exc)
                continue
            self.passed("signature")
            return cert
        self.fail("signature", reason, detail, stop=True)
        raise AssertionError("unreachable")

    def check_expiry(self, claims: QrClaims, cert: Certificate) -> None:
        if self.now > claims.expires_at + self.v._skew:
            self.fail(
                "expiry", "qr_expired", f"the code expired {claims.expires_at:%Y-%m-%dT%H:%M:%SZ}"
            )
        elif claims.expires_at > cert.not_after:
            # iat is the signer's own claim: without this, a key whose certificate has expired
            # could still mint codes dated inside the certificate's life.
            self.fail(
                "expiry",
                "qr_outlives_certificate",
                f"exp {claims.expires_at:%Y-%m-%d} is after the signer certificate's end "
                f"{cert.not_after:%Y-%m-%d}",
            )
        else:
            self.passed("expiry")


_CHAIN_REASONS: Final = {
    "certificate_untrusted": "issuer_untrusted",
    "certificate_expired": "certificate_expired",
    "certificate_not_yet_valid": "certificate_not_yet_valid",
    "certificate_key_usage": "certificate_key_usage",
}
