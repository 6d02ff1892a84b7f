"""亮证 endpoints — 亮证码核验: resolve an EZT1 code, and issue one for a licence.

``POST /v1/present`` (peer platforms, windows, admins) resolves a code of this region or
forwards one of another region to its platform; ``POST /v1/present/issue`` (admins) issues a
code for a licence of the registry. What resolution does, and how each outcome is recorded,
is in :mod:`verifier_service.presentation`; this module holds the request and response
bodies and the endpoints. Both handlers are plain functions (run in the thread pool): they
verify, and read and write the database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Body, Depends
from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ezhengzhao.present import ANY_AUDIENCE, DEFAULT_MAX_LIFETIME
from verifier_service.dependencies import Caller, require_json, require_roles
from verifier_service.presentation import MAX_TOKEN, PresentationDep, issue_code, resolve_token
from verifier_service.schemas import Clerk, ErrorBody, ItemCode, UseCause, VerificationResultBody

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["present"])

# --------------------------------------------------------------------------- bodies


class PresentRequest(BaseModel):
    """A 亮证 code to resolve, with why it is used."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1,
        max_length=MAX_TOKEN,
        description="The EZT1 presentation token (亮证码) as scanned.",
        examples=["EZT1:6BFOXN*TS0BI$ZD.P9UMI…"],
    )
    use_cause: UseCause
    item_code: ItemCode
    clerk: Clerk | None = None


class PresentResponse(BaseModel):
    """A resolved code: the verdict of this service and the sealed licence it resolved to."""

    request_id: str
    audit_seq: int = Field(description="The audit record (用证留痕) of this resolution.")
    result: VerificationResultBody
    document: dict[str, JsonValue] | None = Field(
        description="The sealed licence (ezz/sealed/1) when the code resolved to one, else null."
    )


class IssueRequest(BaseModel):
    """Ask this region's platform for a 亮证 code for a licence of its registry."""

    model_config = ConfigDict(extra="forbid")

    licence_id: str = Field(min_length=1, max_length=160, description="The 证照标识.")
    audience: str = Field(
        default=ANY_AUDIENCE,
        max_length=6,
        description='The verifying region code the code is for, or "*" for any.',
    )
    lifetime_seconds: int | None = Field(
        default=None,
        ge=1,
        le=int(DEFAULT_MAX_LIFETIME.total_seconds()),
        description="How long the code lives (default 60 s).",
    )


class IssueResponse(BaseModel):
    """A fresh 亮证 code, to be shown as a QR code by the holder's app."""

    token: str
    issuing_region: str
    audience: str
    expires_at: str | None


_ERRORS: Final[dict[int | str, dict[str, object]]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "invalid_json"),
        (401, "unauthenticated: no key, or an unknown or revoked one"),
        (403, "forbidden: the key's role may not call this"),
        (413, "body_too_large"),
        (415, "unsupported_media_type"),
        (422, "invalid_request: a field is missing or malformed"),
        (429, "rate_limited"),
        (
            503,
            "peer_unavailable (the issuing region's platform cannot answer now) / "
            "audit_unavailable / storage_unavailable",
        ),
    )
}

# --------------------------------------------------------------------------- endpoints

_PRESENT_EXAMPLES: Final = {
    "window": Example(
        summary="A 亮证 code scanned at a window",
        value={
            "token": "EZT1:6BFOXN*TS0BI$ZD.P9UMI…",
            "use_cause": "办理食品经营许可变更",
            "item_code": "11340000MB0143848N4000111017000",
            "clerk": "王芳",
        },
    ),
}


@router.post(
    "/present",
    response_model=PresentResponse,
    responses=_ERRORS,
    summary="Resolve a 亮证 code (EZT1)",
    dependencies=[Depends(require_json)],
)
def present(
    presentation: PresentationDep,
    caller: Annotated[Caller, Depends(require_roles("peer", "window", "admin"))],
    request: Annotated[PresentRequest, Body(openapi_examples=_PRESENT_EXAMPLES)],
) -> dict[str, object]:
    """Resolve an ``EZT1:`` code: this region's own codes are checked (single use), looked
    up in the registry, verified and logged; another region's are forwarded to its platform
    (``EZZ_PEERS``) and the returned licence verified here. A peer's key must be bound to a
    region that the code's audience admits. A refused code is a 200 with a FAILED result."""
    return resolve_token(
        presentation,
        caller,
        token=request.token,
        use_cause=request.use_cause,
        item_code=request.item_code,
        clerk=request.clerk,
    )


@router.post(
    "/present/issue",
    response_model=IssueResponse,
    responses={
        **_ERRORS,
        404: {"model": ErrorBody, "description": "not_found: no such licence in the registry"},
        503: {
            "model": ErrorBody,
            "description": "not_configured: no platform key / storage_unavailable",
        },
    },
    summary="Issue a 亮证 code for a licence of the registry (admin)",
    dependencies=[Depends(require_json), Depends(require_roles("admin"))],
)
def issue(presentation: PresentationDep, request: IssueRequest) -> dict[str, object]:
    """What a holder's app asks its platform for: a fresh single-use code (60 s by default)
    for a licence of this service's registry, carrying a new random handle."""
    lifetime = (
        None if request.lifetime_seconds is None else timedelta(seconds=request.lifetime_seconds)
    )
    return issue_code(
        presentation, request.licence_id, audience=request.audience, lifetime=lifetime
    )
