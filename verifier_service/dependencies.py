"""What the routers share: the service built at start-up, callers and their keys, limits,
and the audit record of a use.

:class:`Service` is built once per process by :func:`build_service` — the verifier from the
data directory, the database, the rate limiter, the metrics — and kept on ``app.state``; the
routers reach it through the ``Depends`` functions here. Callers authenticate with an API key
(``Authorization: Bearer <secret>`` or ``X-API-Key: <secret>``) that carries a role.
"""

from __future__ import annotations

import email.message
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.result import VerificationResult
from ezhengzhao.verify import Verifier
from verifier_service.db import (
    ApiKey,
    AuditEntry,
    Database,
    StorageError,
    load_or_create_secret,
    open_database,
)
from verifier_service.errors import ServiceError, error_response, retry_after
from verifier_service.keycache import KeyCache
from verifier_service.metrics import Metrics
from verifier_service.settings import Settings

__all__ = [
    "IMAGE_ROUTE",
    "MAX_HOLDER_CODE",
    "MAX_LICENCE_ID",
    "BodyLimitMiddleware",
    "Caller",
    "RateLimiter",
    "Service",
    "SettingsDep",
    "Use",
    "build_service",
    "get_service",
    "get_settings",
    "record_audit",
    "require_clerk",
    "require_json",
    "require_multipart",
    "require_roles",
]

log = logging.getLogger("verifier_service")

IMAGE_ROUTE: Final = "/v1/verify/image"
#: What the audit log takes for a holder code (an ID number or USCC is 18 characters) and for
#: a licence identifier.
MAX_HOLDER_CODE: Final = 64
MAX_LICENCE_ID: Final = 500
# Room in a multipart body for the form fields and boundaries beside the picture itself.
_FORM_OVERHEAD: Final = 64 * 1024


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True, slots=True)
class Service:
    """Everything one process serves with, built once at start-up."""

    settings: Settings
    verifier: Verifier
    database: Database
    limiter: RateLimiter
    metrics: Metrics
    keys: KeyCache

    def close(self) -> None:
        self.database.close()


def build_service(settings: Settings, *, clock: Clock = system_clock) -> Service:
    """Build the verifier from the data directory (``trust/``, and ``status/`` and ``rules/``
    when present), read the holder key and open the database; ConfigurationError (or the
    trust list's or storage's own error) when they cannot serve."""
    verifier = Verifier.from_directory(settings.data, region=settings.region, clock=clock)
    holder_key = load_or_create_secret(settings.data / "service" / "audit-holder.key")
    database = open_database(settings.database_url, holder_key=holder_key, clock=clock)
    return Service(
        settings=settings,
        verifier=verifier,
        database=database,
        limiter=RateLimiter(settings.rate_limit),
        metrics=Metrics(),
        keys=KeyCache(settings.key_cache_seconds),
    )


async def get_service(request: Request) -> Service:
    """The process's :class:`Service` (built by ``create_app``).

    Dependencies that do not block are ``async``: FastAPI runs a plain ``def`` dependency in
    a worker thread, a hop that costs more than most of them do."""
    service: Service = request.app.state.service
    return service


async def get_settings(request: Request) -> Settings:
    """The settings the process's :class:`Service` was built with.

    Read from the service rather than through ``app.dependency_overrides``: with any override
    in place FastAPI re-inspects every dependency's signature on every request."""
    service: Service = request.app.state.service
    return service.settings


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# --------------------------------------------------------------------------- rate limits


class RateLimiter:
    """A token bucket per API key, in process memory: ``per_minute`` requests a minute, in
    bursts of up to that many. (With several workers each keeps its own buckets, so a key
    gets up to ``workers × per_minute``; good enough to stop a runaway client.)"""

    def __init__(self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 if there was one, else the seconds until
        there will be."""
        with self._lock:
            now = self._monotonic()
            tokens, last = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate


# --------------------------------------------------------------------------- callers


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of a request: its key's id, role and (peer) region."""

    key: ApiKey

    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def role(self) -> str:
        return self.key.role

    @property
    def region(self) -> str | None:
        return self.key.region


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key: `Authorization: Bearer ezzk_<id>_<secret>`.",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="The same API key in an `X-API-Key` header.",
)


async def authenticated(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> Caller:
    """The caller whose API key the request carries; 401 without a valid key, 429 when the
    key has spent its rate.

    A key that authenticated in the last ``EZZ_KEY_CACHE_SECONDS`` is taken from the
    process's :class:`KeyCache`; any other is looked up in the database, in a worker thread
    (the read blocks)."""
    secret = credentials.credentials if credentials is not None else header_key
    challenge = {"WWW-Authenticate": "Bearer"}
    if not secret:
        raise ServiceError("unauthenticated", "an API key is required", headers=challenge)
    key = service.keys.get(secret)
    if key is None:
        looked_up = service.keys.now()
        key = await run_in_threadpool(_look_up_key, service, secret)
        if key is None:
            raise ServiceError("unauthenticated", "unknown or revoked API key", headers=challenge)
        service.keys.put(secret, key, looked_up)
    wait = service.limiter.take(key.key_id)
    if wait > 0:
        raise ServiceError(
            "rate_limited",
            f"too many requests for this key; retry in {math.ceil(wait)} s",
            headers=retry_after(wait),
        )
    return Caller(key)


def _look_up_key(service: Service, secret: str) -> ApiKey | None:
    try:
        return service.database.api_keys.authenticate(secret)
    except StorageError as exc:
        log.error("API key lookup failed: %s", exc)
        raise ServiceError(
            "storage_unavailable", "the key store cannot be reached; try again"
        ) from exc


def require_roles(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers whose key has one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def dependency(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if caller.role not in allowed:
            raise ServiceError(
                "forbidden", f"a {caller.role} key may not call this (needs {' or '.join(roles)})"
            )
        return caller

    return dependency


# --------------------------------------------------------------------------- content types


def _media_type(request: Request) -> str:
    header = request.headers.get("content-type", "")
    if not header:
        return ""
    message = email.message.Message()
    message["content-type"] = header
    return message.get_content_type()


async def require_json(request: Request) -> None:
    """415 unless the body is declared JSON (``application/json`` or ``+json``)."""
    media = _media_type(request)
    if media != "application/json" and not media.endswith("+json"):
        raise ServiceError(
            "unsupported_media_type",
            f"the body must be application/json, not {media or 'undeclared'}",
        )


async def require_multipart(request: Request) -> None:
    """415 unless the body is ``multipart/form-data``."""
    media = _media_type(request)
    if media != "multipart/form-data":
        raise ServiceError(
            "unsupported_media_type",
            f"the body must be multipart/form-data, not {media or 'undeclared'}",
        )


# --------------------------------------------------------------------------- audit


def require_clerk(caller: Caller, clerk: str | None) -> None:
    """Window keys are shared by a counter: the record must say which clerk used one (422)."""
    if caller.role == "window" and clerk is None:
        raise ServiceError(
            "invalid_request",
            "body.clerk: window callers must name the clerk",
            errors=[{"path": "body.clerk", "message": "required for window keys"}],
        )


@dataclass(frozen=True, slots=True)
class Use:
    """Who uses a licence and why — 用证: the audited fields of one request."""

    caller: Caller
    use_cause: str
    item_code: str
    clerk: str | None

    def entry(
        self,
        result: VerificationResult,
        *,
        action: str,
        request_id: str,
        region: str | None,
        licence_id: str | None = None,
        verdict: str | None = None,
        extra_reasons: tuple[str, ...] = (),
    ) -> AuditEntry:
        """The audit record of one verification (the holder code goes in clear: the log keeps
        only its keyed hash).

        ``region`` is this service's; a peer's use is recorded under the peer's own region.
        The licence and holder come from the result; ``licence_id`` names the licence when
        the result has none (a refused 亮证 code whose handle is known). ``verdict`` replaces
        the result's (ERROR when no verdict could be reached); reasons are kept once each.
        """
        holder_code = None
        if result.licence is not None:
            licence_id, holder_code = result.licence.licence_id, result.licence.holder.code
        elif result.claims is not None:
            licence_id, holder_code = result.claims.licence_id, result.claims.holder_code
        caller = self.caller
        return AuditEntry(
            action=action,
            caller_key_id=caller.key_id,
            role=caller.role,
            verdict=verdict or result.status.value,
            request_id=request_id,
            clerk=self.clerk,
            region=caller.region if caller.role == "peer" else region,
            licence_id=_storable(licence_id, MAX_LICENCE_ID),
            holder_code=_storable(holder_code, MAX_HOLDER_CODE),
            item_code=self.item_code,
            use_cause=self.use_cause,
            # Distinct codes: many rules may fail with the same reason.
            reasons=tuple(dict.fromkeys((*result.reasons, *extra_reasons))),
        )


def _storable(text: str | None, limit: int) -> str | None:
    """``text`` if the audit log can keep it, else None.

    Licence data reaches here only when its signature verified, but a trusted issuer may
    still have signed an identifier no real one looks like (empty, huge, control
    characters): the use is then recorded without it rather than not recorded at all.
    """
    if not text or len(text) > limit or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return None
    return text


def record_audit(service: Service, entries: Iterable[AuditEntry]) -> list[int]:
    """Append ``entries`` to the audit log together (all durable, or none); their seqs.

    503 ``audit_unavailable`` if the append fails: a verification that is not recorded is
    never acknowledged.
    """
    try:
        return [record.seq for record in service.database.audit.append_all(entries)]
    except StorageError as exc:
        log.error("audit append failed, request refused: %s", exc)
        raise ServiceError(
            "audit_unavailable",
            "the audit log cannot be written now; the request was not acknowledged",
        ) from exc


# --------------------------------------------------------------------------- body limits


class BodyLimitMiddleware:
    """Refuses request bodies over the limit while they are read (413).

    A declared Content-Length over the limit is refused before anything is read; a body that
    declares less, or nothing (chunked), is counted as it arrives and cut off at the limit —
    the header is never trusted on its own. The picture upload route gets the image limit
    (plus room for the form fields); every other route the JSON body limit.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.body_limit = settings.max_body_bytes
        self.image_limit = settings.max_image_bytes + _FORM_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == IMAGE_ROUTE:
            limit, code = self.image_limit, "image_too_large"
        else:
            limit, code = self.body_limit, "body_too_large"
        message = f"the request body is larger than {limit} bytes"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await error_response(code, message)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise ServiceError(code, message)
            return event

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
