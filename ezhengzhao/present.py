"""Online presentation tokens ``EZT1:`` — 亮证码: short-lived, single-use, signed by a platform.

A holder's app shows a code that its issuing platform signed a moment ago; the verifier checks
it and asks that platform to resolve the handle inside (the platform logs the use, 用证留痕).
The token carries no personal data: only an opaque licence handle, the issuing and verifying
regions, times and a random token id. Refreshing the code every minute stops screenshots being
reused (STANDARDS.md §7); the single-use check stops a code being used twice within its minute.

Layout: CWT claims (RFC 8392) in CBOR, signed as COSE_Sign1 (RFC 9052; protected header
``{1: alg, 4: kid}``, kid = first 8 bytes of SHA-256 of the platform certificate), then zlib,
base45 (RFC 9285) and the prefix ``EZT1:`` — the ``EZZ1:`` pipeline with other claims:

=========  =======  ======================================================================
claim      key      value
=========  =======  ======================================================================
iss        1        issuing region, 行政区划代码 (GB/T 2260), e.g. ``"310000"``
aud        3        verifying region code, or ``"*"`` for any verifier
exp        4        NumericDate; iat + 60 s by default, at most iat + max_lifetime
iat        6        NumericDate
cti        7        jti: 16 random bytes (``secrets``)
handle     -70003   opaque licence handle: 8–128 characters of ``A-Z a-z 0-9 - _``
=========  =======  ======================================================================

Every claim is required and no other claim is allowed. A handle must never be the 证照标识
nor personal data: one that parses as a licence identifier, a 公民身份号码 or a 统一社会信用代码
is refused when issuing and when verifying. Draw handles at random (e.g.
``secrets.token_urlsafe(16)``) and keep the mapping on the platform.

Verification (:class:`PresentationVerifier`) runs, in order, stopping at the first failure:

1. decode: prefix, base45, zlib, COSE_Sign1, CBOR, claims → ``token_malformed``
2. the kid names a known platform certificate → ``token_kid_unknown``
3. the signature verifies with one of the certificates with that kid (kids can collide, so
   every one is tried; the algorithm is the key's, never the message's) →
   ``token_signature_invalid``; the certificate was valid at iat →
   ``token_certificate_invalid``
4. ``iat ≤ now + skew`` → ``token_not_yet_valid``; ``now ≤ exp + skew`` → ``token_expired``
5. aud is ``"*"``, the verifier's region, or a region that contains it (a token for
   ``"330000"`` is accepted by a verifier in ``"330106"``, not the other way round: a token
   for one county is not for the whole province) → ``token_audience_mismatch``
6. ``exp − iat ≤ max_lifetime`` → ``token_lifetime_too_long``
7. the jti is claimed in the replay cache, last, so that a token failing any other check —
   a forgery carrying a real jti included — can never use up a real token →
   ``token_replayed``; a cache that cannot answer gives INDETERMINATE
   ``token_replay_unchecked``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from ezhengzhao import codes
from ezhengzhao.clock import system_clock
from ezhengzhao.errors import (
    ConfigurationError,
    CryptoError,
    InputError,
    PayloadError,
    UnsupportedAlgorithmError,
)
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.replay import ReplayCache, ReplayCacheError
from ezhengzhao.result import REASONS, Status
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate

__all__ = [
    "ANY_AUDIENCE",
    "CLAIM_HANDLE",
    "DEFAULT_LIFETIME",
    "DEFAULT_MAX_LIFETIME",
    "JTI_LENGTH",
    "PREFIX",
    "PresentationClaims",
    "PresentationIssuer",
    "PresentationResult",
    "PresentationVerifier",
    "is_valid_handle",
]

PREFIX: Final = "EZT1:"
#: Private-use CWT claim (below −65536) holding the opaque licence handle.
CLAIM_HANDLE: Final = -70003
#: The audience that any verifier accepts.
ANY_AUDIENCE: Final = "*"
JTI_LENGTH: Final = 16
DEFAULT_LIFETIME: Final = timedelta(seconds=60)
DEFAULT_MAX_LIFETIME: Final = timedelta(seconds=300)
DEFAULT_CLOCK_SKEW: Final = timedelta(seconds=30)

#: A token is far below this; the cap bounds the work a hostile input can cause.
_MAX_TOKEN_CHARS: Final = 4096
_MAX_COSE: Final = 4096
_HANDLE_RE: Final = re.compile(r"[A-Za-z0-9_-]{8,128}")
_CLAIM_KEYS: Final = frozenset(
    {cose.CWT_ISS, cose.CWT_AUD, cose.CWT_EXP, cose.CWT_IAT, cose.CWT_CTI, CLAIM_HANDLE}
)


def is_valid_handle(handle: object) -> bool:
    """True if ``handle`` may be carried as an opaque licence handle (see the module doc)."""
    return isinstance(handle, str) and _handle_problem(handle) is None


def _handle_problem(handle: str) -> str | None:
    if not _HANDLE_RE.fullmatch(handle):
        return "a handle is 8 to 128 characters of A-Z a-z 0-9 - _"
    # Compare case-folded too: "91310000…" in lowercase is still the same USCC.
    for text in {handle, handle.upper()}:
        if codes.is_valid_licence_id(text):
            return "a handle must not be a 证照标识 (licence identifier)"
        if codes.is_valid_id_number(text):
            return "a handle must not be a 公民身份号码 (personal data)"
        if codes.is_valid_uscc(text):
            return "a handle must not be a 统一社会信用代码"
    return None


def _audience_problem(audience: object) -> str | None:
    if audience == ANY_AUDIENCE:
        return None
    if isinstance(audience, str) and codes.is_valid_region_code(audience):
        return None
    return f"audience must be {ANY_AUDIENCE!r} or a 行政区划代码, not {audience!r}"


def _now(clock: Callable[[], datetime]) -> datetime:
    now = clock()
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ConfigurationError("the clock must return timezone-aware datetimes")
    return now.astimezone(UTC)


def _positive_seconds(value: object, what: str) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(seconds=1):
        raise ConfigurationError(f"{what} must be a timedelta of at least one second")
    return value


@dataclass(frozen=True, slots=True)
class PresentationClaims:
    """What an ``EZT1:`` token says, once decoded — 亮证码内容.

    ``jti`` is the token id (CWT ``cti``); ``kid`` the key id of the platform certificate.
    """

    handle: str
    issuing_region: str
    audience: str
    issued_at: datetime
    expires_at: datetime
    jti: bytes = field(repr=False)
    kid: bytes = field(repr=False)

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready view (binary fields in hex)."""
        return {
            "handle": self.handle,
            "issuing_region": self.issuing_region,
            "audience": self.audience,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "jti": self.jti.hex(),
            "kid": self.kid.hex(),
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PresentationIssuer:
    """Issues ``EZT1:`` tokens for one platform — 亮证码签发.

    ``signer`` holds the platform key and ``certificate`` is its certificate (same public key;
    its kid goes into the token). ``region`` is the platform's 行政区划代码. Tokens live
    ``lifetime`` unless ``issue`` asks otherwise, never above ``max_lifetime``, and never past
    the certificate's ``not_after``. Raises ConfigurationError when built inconsistently.
    """

    signer: Signer
    certificate: Certificate
    region: str
    clock: Callable[[], datetime] = system_clock
    lifetime: timedelta = DEFAULT_LIFETIME
    max_lifetime: timedelta = DEFAULT_MAX_LIFETIME
    _alg: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.certificate, Certificate):
            raise ConfigurationError("certificate must be a Certificate")
        if self.certificate.public_key.spki_der() != self.signer.public_key.spki_der():
            raise ConfigurationError("the signer's key is not the certificate's key")
        if "digitalSignature" not in self.certificate.key_usage:
            raise ConfigurationError("the platform certificate lacks the digitalSignature usage")
        if not isinstance(self.region, str) or not codes.is_valid_region_code(self.region):
            raise ConfigurationError(f"region {self.region!r} is not a valid 行政区划代码")
        _positive_seconds(self.lifetime, "lifetime")
        _positive_seconds(self.max_lifetime, "max_lifetime")
        if self.lifetime > self.max_lifetime:
            raise ConfigurationError(
                f"lifetime {self.lifetime} is above max_lifetime {self.max_lifetime}"
            )
        try:
            alg = cose.alg_for_suite(self.signer.suite.id)
        except UnsupportedAlgorithmError as exc:
            raise ConfigurationError(f"no COSE algorithm for {self.signer.suite.id}") from exc
        object.__setattr__(self, "_alg", alg)

    def issue(
        self, handle: str, *, audience: str = ANY_AUDIENCE, lifetime: timedelta | None = None
    ) -> str:
        """A new signed ``EZT1:`` token for ``handle``, for verifiers in ``audience``.

        InputError for a bad handle, audience or lifetime; ConfigurationError when the
        certificate is not valid now or would expire before the token.
        """
        if not isinstance(handle, str):
            raise InputError("the handle must be a str")
        problem = _handle_problem(handle)
        if problem:
            raise InputError(problem)
        problem = _audience_problem(audience)
        if problem:
            raise InputError(problem)
        life = self.lifetime if lifetime is None else lifetime
        if not isinstance(life, timedelta) or life < timedelta(seconds=1):
            raise InputError("lifetime must be a timedelta of at least one second")
        if life > self.max_lifetime:
            raise InputError(f"lifetime {life} is above the maximum of {self.max_lifetime}")

        # NumericDates are whole seconds: round iat down and exp down, so the token never
        # lives longer than asked.
        iat = _now(self.clock).replace(microsecond=0)
        exp = iat + timedelta(seconds=int(life.total_seconds()))
        if iat < self.certificate.not_before:
            raise ConfigurationError("the platform certificate is not valid yet")
        if exp > self.certificate.not_after:
            raise ConfigurationError(
                f"the platform certificate expires at {self.certificate.not_after}, before the "
                "token would: renew the certificate"
            )
        claims: dict[int, object] = {
            cose.CWT_ISS: self.region,
            cose.CWT_AUD: audience,
            cose.CWT_IAT: int(iat.timestamp()),
            cose.CWT_EXP: int(exp.timestamp()),
            cose.CWT_CTI: secrets.token_bytes(JTI_LENGTH),
            CLAIM_HANDLE: handle,
        }
        message = cose.sign1(
            cbor.dumps(claims), alg=self._alg, kid=self.certificate.kid, sign=self.signer.sign
        )
        return qrtext.wrap(message.encode(), prefix=PREFIX)


@dataclass(frozen=True, slots=True)
class PresentationResult:
    """Verdict on one ``EZT1:`` token — 亮证码核验结果.

    ``claims`` is set once the platform's signature has verified (also when a later check
    fails, so that the use can be logged); ``detail`` says more in English, e.g. the stage at
    which a malformed token failed.
    """

    status: Status
    reason: str
    claims: PresentationClaims | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.PASSED

    @property
    def message_zh(self) -> str:
        return REASONS[self.reason].zh

    @property
    def message_en(self) -> str:
        text = REASONS[self.reason].en
        return f"{text}: {self.detail}" if self.detail else text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view for the CLI and the service."""
        return {
            "status": self.status.value,
            "status_zh": self.status.label_zh,
            "reason": self.reason,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "detail": self.detail,
            "claims": None if self.claims is None else self.claims.to_dict(),
        }


class _Fail(Exception):
    """Ends a verification with a result."""

    def __init__(self, reason: str, detail: str = "", status: Status = Status.FAILED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.status = status


def _parse_claims(payload: bytes, kid: bytes) -> PresentationClaims:
    """The claims of a token's payload; PayloadError stage ``cbor`` or ``claims``."""
    cwt = cbor.loads_strict(payload)
    if not isinstance(cwt, dict):
        raise PayloadError("claims", "the CWT claims are not a map")
    # type() rather than isinstance: True and 1.0 would otherwise pass for the key 1.
    if any(type(key) is not int for key in cwt):
        raise PayloadError("claims", "claim keys must be integers")
    keys = set(cwt)
    if keys != _CLAIM_KEYS:
        missing = sorted(_CLAIM_KEYS - keys, key=repr)
        extra = sorted(keys - _CLAIM_KEYS, key=repr)
        raise PayloadError("claims", f"claims missing {missing}, unexpected {extra}")
    iss = cwt[cose.CWT_ISS]
    if not isinstance(iss, str) or not codes.is_valid_region_code(iss):
        raise PayloadError("claims", "claim 1 (iss) must be a 行政区划代码")
    aud = cwt[cose.CWT_AUD]
    if not isinstance(aud, str) or _audience_problem(aud):
        raise PayloadError("claims", f"claim 3 (aud) must be {ANY_AUDIENCE!r} or a 行政区划代码")
    jti = cwt[cose.CWT_CTI]
    if not isinstance(jti, bytes) or len(jti) != JTI_LENGTH:
        raise PayloadError("claims", f"claim 7 (cti) must be {JTI_LENGTH} bytes")
    handle = cwt[CLAIM_HANDLE]
    if not isinstance(handle, str):
        raise PayloadError("claims", f"claim {CLAIM_HANDLE} (handle) must be text")
    problem = _handle_problem(handle)
    if problem:
        raise PayloadError("claims", f"claim {CLAIM_HANDLE}: {problem}")
    iat = cose.numeric_date(cwt[cose.CWT_IAT], "claim 6 (iat)")
    exp = cose.numeric_date(cwt[cose.CWT_EXP], "claim 4 (exp)")
    if exp <= iat:
        raise PayloadError("claims", "claim 4 (exp) must be after claim 6 (iat)")
    return PresentationClaims(
        handle=handle,
        issuing_region=iss,
        audience=aud,
        issued_at=iat,
        expires_at=exp,
        jti=jti,
        kid=kid,
    )


class PresentationVerifier:
    """Verifies ``EZT1:`` tokens — 亮证码核验 (see the module docstring for the checks).

    ``certificates`` are the platform certificates trusted to sign tokens (at least one; each
    needs the digitalSignature usage). ``replay_cache`` records used tokens; share one cache
    (e.g. one :class:`~ezhengzhao.replay.SQLiteReplayCache` file) between every verifier that
    must refuse each other's replays. ``region`` is this verifier's 行政区划代码. Thread-safe
    when the cache is.
    """

    __slots__ = ("_by_kid", "_cache", "_clock", "_max_lifetime", "_region", "_regions", "_skew")

    def __init__(
        self,
        *,
        certificates: Iterable[Certificate],
        replay_cache: ReplayCache,
        region: str,
        clock: Callable[[], datetime] = system_clock,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
    ) -> None:
        by_kid: dict[bytes, list[Certificate]] = {}
        for certificate in certificates:
            if "digitalSignature" not in certificate.key_usage:
                raise ConfigurationError(
                    f"certificate {certificate.subject} lacks the digitalSignature usage"
                )
            same = by_kid.setdefault(certificate.kid, [])
            if certificate not in same:
                same.append(certificate)
        if not by_kid:
            raise ConfigurationError("a PresentationVerifier needs the platform certificates")
        if not isinstance(replay_cache, ReplayCache):
            raise ConfigurationError("a PresentationVerifier needs a replay cache")
        if not isinstance(region, str) or not codes.is_valid_region_code(region):
            raise ConfigurationError(f"verifying region {region!r} is not a valid 行政区划代码")
        if not isinstance(clock_skew, timedelta) or clock_skew < timedelta(0):
            raise ConfigurationError("clock_skew must be a non-negative timedelta")
        self._by_kid = {kid: tuple(certs) for kid, certs in by_kid.items()}
        self._cache = replay_cache
        self._region = region
        # The audiences this verifier accepts: "*", its own code and the regions containing it.
        self._regions = frozenset({ANY_AUDIENCE, region, *codes.parent_region_codes(region)})
        self._clock = clock
        self._skew = clock_skew
        self._max_lifetime = _positive_seconds(max_lifetime, "max_lifetime")

    @property
    def region(self) -> str:
        return self._region

    def verify(self, token: str) -> PresentationResult:
        """Check ``token``; never raises for a bad token (only for a misconfigured clock)."""
        now = _now(self._clock)
        claims: PresentationClaims | None = None
        try:
            message, unverified = self._decode(token)
            self._check_signature(message, unverified)
            claims = unverified
            self._check_claims(claims, now)
            self._claim(claims)
        except _Fail as stop:
            return PresentationResult(stop.status, stop.reason, claims, stop.detail)
        return PresentationResult(Status.PASSED, "ok", claims, "")

    def _decode(self, token: object) -> tuple[cose.CoseSign1, PresentationClaims]:
        if not isinstance(token, str):
            raise _Fail("token_malformed", "prefix: a token is text")
        if len(token) > _MAX_TOKEN_CHARS:
            raise _Fail("token_malformed", f"prefix: longer than {_MAX_TOKEN_CHARS} characters")
        try:
            message = cose.decode_sign1(qrtext.unwrap(token, prefix=PREFIX, max_size=_MAX_COSE))
            kid = message.protected_header.get(cose.HDR_KID)
            # The kid must be signed with the rest: nothing about a token travels unprotected.
            if not isinstance(kid, bytes) or message.unprotected_header:
                raise PayloadError("cose", "the kid must be in the protected header, alone")
            return message, _parse_claims(message.payload, kid)
        except PayloadError as exc:
            raise _Fail("token_malformed", f"{exc.stage}: {exc}") from None

    def _check_signature(self, message: cose.CoseSign1, claims: PresentationClaims) -> Certificate:
        """The certificate whose key verifies ``message`` and that was valid at its iat."""
        candidates = self._by_kid.get(claims.kid, ())
        if not candidates:
            raise _Fail("token_kid_unknown", f"kid {claims.kid.hex()}")
        problems: list[str] = []
        outside: Certificate | None = None
        for certificate in candidates:
            try:
                cose.verify_sign1(message, certificate.public_key)
            except CryptoError as exc:  # invalid signature, algorithm mismatch or unknown
                problems.append(f"{certificate.subject}: {exc}")
                continue
            # One key may sit in several certificates (a renewal): any valid at iat will do.
            if certificate.not_before <= claims.issued_at <= certificate.not_after:
                return certificate
            outside = certificate
        if outside is not None:
            raise _Fail(
                "token_certificate_invalid",
                f"issued at {claims.issued_at.isoformat()}, certificate valid "
                f"{outside.not_before.isoformat()} to {outside.not_after.isoformat()}",
            )
        raise _Fail("token_signature_invalid", "; ".join(problems))

    def _check_claims(self, claims: PresentationClaims, now: datetime) -> None:
        if claims.issued_at > now + self._skew:
            raise _Fail("token_not_yet_valid", f"issued at {claims.issued_at.isoformat()}")
        if now > claims.expires_at + self._skew:
            raise _Fail("token_expired", f"expired at {claims.expires_at.isoformat()}")
        if claims.audience not in self._regions:
            raise _Fail(
                "token_audience_mismatch",
                f"token is for {claims.audience}, this verifier is in {self._region}",
            )
        lifetime = claims.expires_at - claims.issued_at
        if lifetime > self._max_lifetime:
            raise _Fail(
                "token_lifetime_too_long",
                f"{int(lifetime.total_seconds())} s, at most "
                f"{int(self._max_lifetime.total_seconds())} s",
            )

    def _claim(self, claims: PresentationClaims) -> None:
        # The entry must outlive the last moment this verifier would accept the token.
        try:
            first = self._cache.claim(claims.jti, claims.expires_at + self._skew)
        except ReplayCacheError as exc:
            raise _Fail("token_replay_unchecked", str(exc), Status.INDETERMINATE) from None
        if not first:
            raise _Fail("token_replayed", f"jti {claims.jti.hex()}")
