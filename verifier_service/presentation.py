"""亮证 resolution — 亮证码核验: EZT1 codes of this region, and of peer regions through them.

A holder's app shows an ``EZT1:`` code that its region's platform signed a moment ago; the
code carries only an opaque handle. :class:`Presentation` is what a process resolves codes
with, built once when the app is assembled (:func:`build_presentation`); the router
(:mod:`verifier_service.routers.present`) and ``/v1/verify`` call :func:`resolve_token`,
which

- resolves codes of its own region: the token is checked — signature, time, audience, single
  use through the replay cache in the service database, so that a code is accepted once
  across every worker and restart — the handle is looked up (:mod:`verifier_service.handles`),
  the sealed licence is loaded from the registry and verified, and the use is logged (action
  ``present``);
- forwards codes of other regions to the peer platform of the token's issuing region
  (``EZZ_PEERS``, :mod:`verifier_service.peers`), then verifies the returned document
  **itself** — its own trust lists, status lists and mutual-recognition rules decide; the
  peer's verdict is only informative — and logs its own record (action ``present_forward``,
  with ``peer_request:<id>`` among the reasons).

:func:`issue_code` issues codes for a licence of the registry, as a holder's app would ask its
platform.

Outcomes: a bad token (expired, replayed, forged, for another region) is a FAILED result with
the token's reason; an unknown handle is FAILED ``licence_not_found``; a token of a region
with no configured peer is FAILED ``region_not_reachable``. Two failures are 503s, each
recorded first as an audit record with verdict ERROR: a peer that cannot answer
(``peer_unavailable``), and a handle table or registry that cannot be read once the token was
checked (``storage_unavailable``). A use that cannot be recorded at all is never
acknowledged: 503 ``audit_unavailable``, as for every verification.

Routing reads the token's issuing region (``iss``) without checking the signature: a lie there
only sends the code to a platform that refuses it, since the issuing platform checks it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Final

from fastapi import Depends, Request

from ezhengzhao import codes
from ezhengzhao.clock import Clock
from ezhengzhao.errors import ConfigurationError, EzhengzhaoError, InputError, RegistryError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.present import PREFIX, PresentationIssuer, PresentationVerifier
from ezhengzhao.result import REASONS, Check, CheckStatus, Status, VerificationResult
from ezhengzhao.sign.keys import load_private_key
from ezhengzhao.sign.x509 import Certificate, load_certificates
from verifier_service.db import AuditEntry, StorageError
from verifier_service.dependencies import Caller, Service, Use, record_audit, require_clerk
from verifier_service.errors import ServiceError
from verifier_service.handles import HandleStore, import_demo_licences
from verifier_service.peers import Peers, PeerUnavailable
from verifier_service.views import result_view

__all__ = [
    "MAX_TOKEN",
    "PLATFORM_DIR",
    "Presentation",
    "PresentationDep",
    "build_presentation",
    "get_presentation",
    "is_token",
    "issue_code",
    "resolve_token",
]

log = logging.getLogger("verifier_service.present")

#: Under the data directory: ``platform/<region>/platform.pem`` (+ ``platform.key.pem`` to
#: issue codes), the 亮证 platform of each region this service speaks for.
PLATFORM_DIR: Final = "platform"
#: The longest 亮证 code taken (a real one is a few hundred characters).
MAX_TOKEN: Final = 4096

# --------------------------------------------------------------------------- process state


class Presentation:
    """What one process resolves 亮证 codes with, built once at start-up.

    ``certificates`` are this region's platform certificates (tokens it accepts as its own);
    ``issuer`` signs new codes when the platform key is in the data directory. A token is
    checked against the region where it is being presented — this service's for windows, the
    peer's for a peer — so a :class:`PresentationVerifier` is kept per verifying region, all
    sharing the database's replay cache.
    """

    def __init__(
        self,
        *,
        service: Service,
        certificates: tuple[Certificate, ...],
        issuer: PresentationIssuer | None,
        handles: HandleStore,
        peers: Peers,
        clock: Clock,
    ) -> None:
        self.service = service
        self.region = service.settings.region
        self.certificates = certificates
        self.issuer = issuer
        self.handles = handles
        self.peers = peers
        self.clock = clock
        self._verifiers: dict[str, PresentationVerifier] = {}
        self._lock = threading.Lock()

    def verifier_for(self, region: str) -> PresentationVerifier | None:
        """The token verifier for codes presented in ``region``; None without certificates."""
        if not self.certificates:
            return None
        with self._lock:
            verifier = self._verifiers.get(region)
            if verifier is None:
                verifier = PresentationVerifier(
                    certificates=self.certificates,
                    replay_cache=self.service.database.replay,
                    region=region,
                    clock=self.clock,
                )
                self._verifiers[region] = verifier
            return verifier

    def is_local(self, issuing_region: str) -> bool:
        """Whether a token from ``issuing_region`` is this platform's to resolve."""
        region = self.region
        if region is None:
            return False
        return issuing_region == region or issuing_region in codes.parent_region_codes(region)

    def close(self) -> None:
        self.peers.close()


def _platform_files(data: Path, region: str) -> tuple[Path, ...]:
    """The platform folders for ``region``: its own, then those of the regions containing it."""
    return tuple(
        data / PLATFORM_DIR / code for code in (region, *codes.parent_region_codes(region))
    )


def _load_platform(
    service: Service, clock: Clock
) -> tuple[tuple[Certificate, ...], PresentationIssuer | None]:
    """This region's platform certificates, each certified by a trusted root, and the
    issuer when the key is there too; nothing for a service without a region or platform."""
    region = service.settings.region
    if region is None:
        return (), None
    roots = service.verifier.trust_store.roots
    certificates: list[Certificate] = []
    issuer = None
    for folder in _platform_files(service.settings.data, region):
        for path in sorted(folder.glob("*.pem")):
            if path.name.endswith(".key.pem"):
                continue
            for certificate in load_certificates(path.read_bytes()):
                if not _certified(certificate, roots):
                    raise ConfigurationError(
                        f"{path}: the platform certificate is not issued by a trusted root"
                    )
                certificates.append(certificate)
        key_file, cert_file = folder / "platform.key.pem", folder / "platform.pem"
        if issuer is None and key_file.is_file() and cert_file.is_file():
            issuer = PresentationIssuer(
                signer=load_private_key(key_file.read_bytes()),
                certificate=Certificate.from_pem(cert_file.read_bytes()),
                region=folder.name,
                clock=clock,
            )
    return tuple(certificates), issuer


def _certified(certificate: Certificate, roots: Iterable[Certificate]) -> bool:
    for root in roots:
        try:
            certificate.verify_issued_by(root)
        except EzhengzhaoError:
            continue
        return True
    return False


def _import_demo(service: Service) -> None:
    """For a demo data directory: its region's sealed licences copied into an empty
    registry (once; a registry that holds licences is left alone)."""
    settings = service.settings
    if settings.region is None or not (settings.data / "manifest.json").is_file():
        return
    count = import_demo_licences(
        service.database, settings.data, settings.region, service.verifier.trust_store
    )
    if count:
        log.info("imported %d demo licences of %s into the registry", count, settings.region)


def build_presentation(service: Service) -> Presentation:
    """The 亮证 state of a process: platform certificates and key, the handle table, the
    peers (``EZZ_PEERS``), and — for a demo data directory — the region's demo licences
    copied into an empty registry. ConfigurationError for a bad peer list or platform."""
    clock = service.database.transactions.clock
    settings = service.settings
    peers = Peers.from_text(settings.peers, own_region=settings.region)
    try:
        certificates, issuer = _load_platform(service, clock)
        handles = HandleStore(service.database)
        _import_demo(service)
    except BaseException:
        peers.close()
        raise
    return Presentation(
        service=service,
        certificates=certificates,
        issuer=issuer,
        handles=handles,
        peers=peers,
        clock=clock,
    )


async def get_presentation(request: Request) -> Presentation:
    """The process's :class:`Presentation` (built by ``create_app``)."""
    presentation: Presentation = request.app.state.presentation
    return presentation


PresentationDep = Annotated[Presentation, Depends(get_presentation)]


# --------------------------------------------------------------------------- resolution


def is_token(document: object) -> bool:
    """Whether a ``/v1/verify`` document is an ``EZT1:`` 亮证 code (resolved here)."""
    return isinstance(document, str) and document.strip().upper().startswith(PREFIX)


def _unchecked_claims(token: str) -> dict[object, object]:
    """A token's claims, read without any check (empty when they cannot be read)."""
    try:
        message = cose.decode_sign1(qrtext.unwrap(token, prefix=PREFIX, max_size=MAX_TOKEN))
        claims = cbor.loads_strict(message.payload)
    except (EzhengzhaoError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _issuing_region(token: str) -> str | None:
    """The ``iss`` claim of a token, read without any check (for routing only)."""
    iss = _unchecked_claims(token).get(cose.CWT_ISS)
    return iss if isinstance(iss, str) and codes.is_valid_region_code(iss) else None


def _result(
    status: Status, reason: str, detail: str, *, now: datetime, region: str | None
) -> VerificationResult:
    """A result that stopped at the token (no licence to show)."""
    check = Check("token", CheckStatus(status.value), reason, detail)
    return VerificationResult(
        status=status, checks=(check,), validation_time=now, verifying_region=region
    )


def _with_token_check(result: VerificationResult, detail: str) -> VerificationResult:
    """The licence's result with the passed token check in front of its own checks."""
    check = Check("token", CheckStatus.PASSED, "ok", detail)
    return replace(result, checks=(check, *result.checks))


def _answer(
    service: Service,
    result: VerificationResult,
    entry: AuditEntry,
    *,
    kind: str,
    document: bytes | None,
) -> dict[str, object]:
    (seq,) = record_audit(service, [entry])
    service.metrics.verifications.labels(kind, result.status.value).inc()
    return {
        "request_id": entry.request_id,
        "audit_seq": seq,
        "result": result_view(result, document=document, trust_store=service.verifier.trust_store),
        "document": None if document is None else json.loads(document),
    }


def _refuse_unread(
    presentation: Presentation,
    use: Use,
    request_id: str,
    what: str,
    exc: StorageError,
    *,
    licence_id: str | None = None,
) -> ServiceError:
    """Record a use whose licence could not be read (verdict ERROR), then the 503 to raise.

    The token was checked, and a good one is spent: the record keeps the attempt even though
    no verdict could be reached. If the audit log cannot be written either, that refusal
    (503 ``audit_unavailable``) is raised from here instead.
    """
    log.error("%s cannot be read, 亮证 request %s refused: %s", what, request_id, exc)
    failed = _result(
        Status.INDETERMINATE,
        "storage_unavailable",
        f"{what} cannot be read now",
        now=presentation.clock(),
        region=presentation.region,
    )
    entry = use.entry(
        failed,
        action="present",
        request_id=request_id,
        region=presentation.region,
        licence_id=licence_id,
        verdict="ERROR",
    )
    record_audit(presentation.service, [entry])
    return ServiceError("storage_unavailable", f"{what} cannot be read now; try again")


def _resolve_local(
    presentation: Presentation, token: str, use: Use, request_id: str
) -> dict[str, object]:
    """Check a code of this region, load its licence from the registry, verify and log it."""
    service = presentation.service
    region = presentation.region
    now = presentation.clock()
    caller = use.caller
    # A peer presents the code in its own region: the token's audience must admit that one.
    at = caller.region if caller.role == "peer" else region
    verifier = None if at is None else presentation.verifier_for(at)
    if verifier is None:
        result = _result(
            Status.FAILED,
            "token_kid_unknown",
            "this service has no 亮证 platform certificate",
            now=now,
            region=region,
        )
        entry = use.entry(result, action="present", request_id=request_id, region=region)
        return _answer(service, result, entry, kind="present", document=None)
    checked = verifier.verify(token)
    licence_id = None
    if checked.claims is not None:
        # The signature holds, so the handle is the platform's own: log which licence it is
        # for, even when the code is refused (a replay is a use worth recording).
        try:
            licence_id = presentation.handles.resolve(checked.claims.handle)
        except StorageError as exc:
            raise _refuse_unread(presentation, use, request_id, "the handle table", exc) from exc
    if not checked.ok:
        result = _result(checked.status, checked.reason, checked.detail, now=now, region=region)
        entry = use.entry(
            result, action="present", request_id=request_id, region=region, licence_id=licence_id
        )
        return _answer(service, result, entry, kind="present", document=None)
    document = None
    if licence_id is not None:
        try:
            document = service.database.registry.get(licence_id).to_json(indent=None)
        except RegistryError:
            document = None
        except StorageError as exc:
            raise _refuse_unread(
                presentation, use, request_id, "the registry", exc, licence_id=licence_id
            ) from exc
    if document is None:
        result = _result(
            Status.FAILED,
            "licence_not_found",
            "the code's handle names no licence in this registry",
            now=now,
            region=region,
        )
        entry = use.entry(
            result, action="present", request_id=request_id, region=region, licence_id=licence_id
        )
        return _answer(service, result, entry, kind="present", document=None)
    result = _with_token_check(service.verifier.verify(document), f"亮证码 of {region}, single use")
    entry = use.entry(result, action="present", request_id=request_id, region=region)
    return _answer(service, result, entry, kind="present", document=document)


def _forward(
    presentation: Presentation, token: str, issuing_region: str, use: Use, request_id: str
) -> dict[str, object]:
    """Resolve a code of another region through that region's platform, then verify the
    licence it returns with this service's own trust, status and rules."""
    service = presentation.service
    now = presentation.clock()
    region = presentation.region
    peer = presentation.peers.for_region(issuing_region)
    if peer is None:
        result = _result(
            Status.FAILED,
            "region_not_reachable",
            f"no peer platform is configured for {issuing_region}",
            now=now,
            region=region,
        )
        entry = use.entry(result, action="present_forward", request_id=request_id, region=region)
        return _answer(service, result, entry, kind="present_forward", document=None)
    body: dict[str, object] = {
        "token": token,
        "use_cause": use.use_cause,
        "item_code": use.item_code,
    }
    if use.clerk is not None:
        body["clerk"] = use.clerk
    try:
        answer = presentation.peers.present(peer, body)
    except PeerUnavailable as exc:
        log.warning("peer %s unavailable: %s", peer.region, exc)
        failed = _result(Status.INDETERMINATE, "peer_unavailable", str(exc), now=now, region=region)
        entry = use.entry(
            failed, action="present_forward", request_id=request_id, region=region, verdict="ERROR"
        )
        # The attempt is on record before the refusal leaves.
        record_audit(service, [entry])
        raise ServiceError(
            "peer_unavailable",
            f"the platform of {peer.region} cannot resolve the code now; try again",
        ) from None
    peer_reason = f"peer_request:{answer.request_id}"
    if answer.document is None:
        # The issuing platform alone can tell whether its code is valid and unused.
        known = [r for r in answer.reasons if r in REASONS and r != "ok"]
        status = Status.INDETERMINATE if answer.status == "INDETERMINATE" else Status.FAILED
        reason = known[0] if known else "token_malformed"
        result = _result(
            status, reason, f"refused by the platform of {peer.region}", now=now, region=region
        )
        entry = use.entry(
            result,
            action="present_forward",
            request_id=request_id,
            region=region,
            extra_reasons=(peer_reason,),
        )
        return _answer(service, result, entry, kind="present_forward", document=None)
    document = json.dumps(answer.document, ensure_ascii=False).encode("utf-8", "replace")
    # The peer's verdict is informative only: this service's verifier decides.
    result = _with_token_check(
        service.verifier.verify(document),
        f"亮证码 of {issuing_region}, resolved by the platform of {peer.region} "
        f"(request {answer.request_id}, its verdict {answer.status})",
    )
    entry = use.entry(
        result,
        action="present_forward",
        request_id=request_id,
        region=region,
        extra_reasons=(peer_reason,),
    )
    return _answer(service, result, entry, kind="present_forward", document=document)


def resolve_token(
    presentation: Presentation,
    caller: Caller,
    *,
    token: str,
    use_cause: str,
    item_code: str,
    clerk: str | None,
) -> dict[str, object]:
    """Resolve a 亮证 code here or at its region's platform; the audited answer body
    (``request_id``, ``audit_seq``, ``result``, ``document``)."""
    require_clerk(caller, clerk)
    token = token.strip()
    use = Use(caller, use_cause, item_code, clerk)
    request_id = uuid.uuid4().hex
    issuing_region = _issuing_region(token)
    # A peer's request is never passed on: one hop, no loops between platforms.
    if issuing_region is None or caller.role == "peer" or presentation.is_local(issuing_region):
        return _resolve_local(presentation, token, use, request_id)
    return _forward(presentation, token, issuing_region, use, request_id)


# --------------------------------------------------------------------------- issuing


def issue_code(
    presentation: Presentation,
    licence_id: str,
    *,
    audience: str,
    lifetime: timedelta | None,
) -> dict[str, object]:
    """A fresh single-use code for a licence of the registry, carrying a new random handle:
    what a holder's app asks its platform for. 503 ``not_configured`` without a platform
    key, 404 ``not_found`` for a licence the registry does not hold, 422 for a bad audience.
    """
    issuer = presentation.issuer
    if issuer is None:
        raise ServiceError("not_configured", "this service has no 亮证 platform key")
    try:
        handle = presentation.handles.create(licence_id)
    except RegistryError:
        raise ServiceError("not_found", f"no licence {licence_id} in this registry") from None
    except StorageError as exc:
        raise ServiceError("storage_unavailable", "the registry cannot be written now") from exc
    try:
        token = issuer.issue(handle, audience=audience, lifetime=lifetime)
    except InputError as exc:
        raise ServiceError(
            "invalid_request",
            f"body.audience: {exc}",
            errors=[{"path": "body.audience", "message": str(exc)}],
        ) from None
    except ConfigurationError as exc:
        raise ServiceError("not_configured", str(exc)) from None
    exp = _unchecked_claims(token).get(cose.CWT_EXP)
    expires = datetime.fromtimestamp(exp, UTC) if isinstance(exp, int) else None
    return {
        "token": token,
        "issuing_region": issuer.region,
        "audience": audience,
        "expires_at": None if expires is None else expires.isoformat(),
    }
