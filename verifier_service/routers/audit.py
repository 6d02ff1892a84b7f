"""The audit log query — 用证留痕查询 (admin keys only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query

from ezhengzhao.errors import InputError
from verifier_service.db import StorageError
from verifier_service.dependencies import Caller, Service, get_service, require_roles
from verifier_service.errors import ServiceError
from verifier_service.schemas import PLAIN_TEXT, AuditResponse, ErrorBody

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["audit"])

MAX_LIMIT: Final = 1000


@router.get(
    "/audit",
    response_model=AuditResponse,
    responses={
        401: {"model": ErrorBody, "description": "unauthenticated"},
        403: {"model": ErrorBody, "description": "forbidden: not an admin key"},
        422: {"model": ErrorBody, "description": "invalid_request: a filter is malformed"},
        429: {"model": ErrorBody, "description": "rate_limited"},
        503: {"model": ErrorBody, "description": "storage_unavailable"},
    },
    summary="Query the audit log",
)
def audit(
    service: Annotated[Service, Depends(get_service)],
    caller: Annotated[Caller, Depends(require_roles("admin"))],
    licence: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=500,
            pattern=PLAIN_TEXT,
            description="Only records of this 证照标识.",
            examples=["1.2.156.3005.2.11100000000090034P001.11340100003050222J.202600100005.001.P"],
        ),
    ] = None,
    caller_key: Annotated[
        str | None,
        Query(
            alias="caller",
            min_length=1,
            max_length=64,
            pattern=PLAIN_TEXT,
            description="Only records made under this API key id.",
            examples=["k3q9x2"],
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        Query(
            description="Records at or after this time (ISO 8601 with a zone).",
            examples=["2026-11-22T00:00:00Z"],
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(
            description="Records at or before this time (ISO 8601 with a zone).",
            examples=["2026-11-23T00:00:00Z"],
        ),
    ] = None,
    after_seq: Annotated[
        int | None,
        Query(ge=0, le=2**62, description="Page on: records after this seq.", examples=[0]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many.")] = 100,
) -> dict[str, object]:
    """Audit records matching every filter given, in order of ``seq``."""
    since, until = _utc(since, "since"), _utc(until, "until")
    try:
        records = service.database.audit.query(
            licence_id=licence,
            caller=caller_key,
            since=since,
            until=until,
            after_seq=after_seq,
            limit=limit,
        )
    except InputError as exc:
        raise ServiceError("invalid_request", str(exc)) from None
    except StorageError as exc:
        raise ServiceError("storage_unavailable", "the audit log cannot be read now") from exc
    return {"records": [record.to_dict() for record in records]}


def _utc(moment: datetime | None, name: str) -> datetime | None:
    """``moment`` in UTC; 422 if it has no zone or lies outside the years UTC can hold."""
    if moment is None:
        return None
    problem = "the time needs a zone (e.g. Z or +08:00)"
    if moment.utcoffset() is not None:
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            problem = "the time is out of range"
    raise ServiceError(
        "invalid_request",
        f"query.{name}: {problem}",
        errors=[{"path": f"query.{name}", "message": problem}],
    )
