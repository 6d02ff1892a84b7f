"""The app, assembled — 核验服务: routers, error handlers, middleware and the service state.

``create_app(settings)`` builds the verifier, opens the database and builds the 亮证 state
(platform, handles, peers: :mod:`verifier_service.presentation`) once, here, at start-up;
uvicorn runs ``verifier_service.main:create_app`` as a factory (one app per worker), and
``app`` is the same built from the environment on first use.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from ezhengzhao.clock import Clock, system_clock
from verifier_service.dependencies import BodyLimitMiddleware, build_service
from verifier_service.errors import install_error_handlers
from verifier_service.metrics import MetricsMiddleware
from verifier_service.presentation import build_presentation
from verifier_service.routers import audit, health, lists, present, verify, window
from verifier_service.settings import Settings, get_settings

__all__ = ["create_app"]

_DESCRIPTION = """\
Verifies Chinese electronic licences (电子证照): offline QR codes (EZZ1), sealed documents
(GB/T 38540 seals) and photos of QR codes, and records every use in a hash-chained audit log
(用证留痕). Callers authenticate with API keys (roles window, peer, admin); the published
lists, health and metrics need none. Errors are `{"code", "message"}`; an invalid licence is a
200 whose result says FAILED.
"""


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The service for ``settings`` (the environment's when None); ``clock`` is the
    verification and audit time."""
    settings = settings or get_settings()
    service = build_service(settings, clock=clock)
    try:
        # Built here, before the first request, so that a bad EZZ_PEERS or platform stops
        # the worker at start-up.
        presentation = build_presentation(service)
    except BaseException:
        service.close()
        raise

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            presentation.close()
            service.close()

    app = FastAPI(
        title="ezhengzhao verifier service",
        version="1",
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.presentation = presentation
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    for module in (verify, present, lists, audit, health, window):
        app.include_router(module.router)
    return app


def __getattr__(name: str) -> Any:
    # ``app`` is built on first use, so importing this module reads no environment.
    if name == "app":
        return _default_app()
    raise AttributeError(name)


_apps: dict[str, FastAPI] = {}


def _default_app() -> FastAPI:
    if "app" not in _apps:
        _apps["app"] = create_app()
    return _apps["app"]
