"""Health and metrics — 运行状态: for load balancers and Prometheus (no key needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from verifier_service.dependencies import Service, SettingsDep, get_service
from verifier_service.metrics import CONTENT_TYPE
from verifier_service.schemas import HealthResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="Liveness")
def healthz(
    service: Annotated[Service, Depends(get_service)], settings: SettingsDep
) -> dict[str, object]:
    """The service is up, with its verifier built and its database opened at start-up."""
    return {
        "status": "ok",
        "region": settings.region,
        "database": service.database.dialect,
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {
                CONTENT_TYPE: {
                    "schema": {"type": "string"},
                    "example": 'ezz_verifications_total{kind="verify",verdict="PASSED"} 17.0\n',
                }
            },
        }
    },
    summary="Prometheus metrics",
)
def metrics(service: Annotated[Service, Depends(get_service)]) -> Response:
    """Requests by route and status, latency, verification verdicts (this process's)."""
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)
