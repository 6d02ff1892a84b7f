"""Verification endpoints — 核验: a QR text or sealed document, or a photo of QR codes.

Every verification is written to the audit log before the answer leaves (each QR code of a
photo is its own record); a bad licence is a 200 with a FAILED result, only a bad request is
a 4xx. Verification is CPU work and the audit commit a blocking write, so both run in a
worker thread: ``/verify`` hands them to one thread together, the photo route is a plain
function FastAPI runs in its thread pool.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Body, Depends, File, Form, UploadFile
from fastapi.openapi.models import Example
from fastapi.responses import JSONResponse, Response
from pydantic import JsonValue
from starlette.concurrency import run_in_threadpool

from ezhengzhao.errors import ImageError
from ezhengzhao.qr.scan import scan_image
from verifier_service.dependencies import (
    IMAGE_ROUTE,
    Caller,
    Service,
    SettingsDep,
    Use,
    get_service,
    record_audit,
    require_clerk,
    require_json,
    require_multipart,
    require_roles,
)
from verifier_service.errors import ServiceError
from verifier_service.presentation import PresentationDep, is_token, resolve_token
from verifier_service.schemas import (
    Clerk,
    ErrorBody,
    ImageVerifyResponse,
    ItemCode,
    UseCause,
    VerifyRequest,
    VerifyResponse,
)
from verifier_service.views import result_view

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["verify"])

VERIFIERS: Final = ("window", "peer", "admin")
# A photo with more codes than this is not a licence held up to a camera.
MAX_CODES_PER_IMAGE: Final = 16

_IMAGE_CODES: Final = {
    "no_code_found": "no_qr_code",
    "not_an_image": "not_an_image",
    "image_too_large": "image_too_large",
}

_ERRORS: Final[dict[int | str, dict[str, object]]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "invalid_json / not_an_image / no_qr_code / too_many_qr_codes / invalid_form"),
        (401, "unauthenticated: no key, or an unknown or revoked one"),
        (403, "forbidden: the key's role may not verify"),
        (413, "body_too_large / image_too_large"),
        (415, "unsupported_media_type"),
        (422, "invalid_request: a field is missing or malformed (its path is given)"),
        (429, "rate_limited: the key has spent its rate (see Retry-After)"),
        (503, "audit_unavailable: the audit log cannot be written; nothing was acknowledged"),
    )
}

_VERIFY_EXAMPLES: Final = {
    "qr": Example(
        summary="A QR text, as a scanner gun types it",
        value={
            "document": "EZZ1:NCFOXNMG2FDH.MHWEAPCGRQG/MQI%V73TUGL:D4*OVP36",
            "use_cause": "办理食品经营许可变更",
            "item_code": "11340000MB0143848N4000111017000",
            "clerk": "王芳",
        },
    ),
    "sealed": Example(
        summary="A sealed licence (ezz/sealed/1) as a JSON object",
        value={
            "document": {
                "format": "ezz/sealed/1",
                "licence": {"format": "ezz/licence/1"},
                "ses_signature": "MIIE…",
            },
            "use_cause": "核验营业执照",
            "item_code": "11340000MB0143848N4000111017000",
            "clerk": "王芳",
        },
    ),
}


def _document_bytes(document: str | dict[str, JsonValue]) -> bytes:
    """The document as the bytes the verifier reads; text that is not valid Unicode
    (a lone surrogate in JSON) is kept with replacement characters and simply fails."""
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    return text.encode("utf-8", "replace")


@router.post(
    "/verify",
    response_model=VerifyResponse,
    responses=_ERRORS,
    summary="Verify a QR text or a sealed licence",
    dependencies=[Depends(require_json)],
)
async def verify(
    service: Annotated[Service, Depends(get_service)],
    caller: Annotated[Caller, Depends(require_roles(*VERIFIERS))],
    request: Annotated[VerifyRequest, Body(openapi_examples=_VERIFY_EXAMPLES)],
    presentation: PresentationDep,
) -> Response | dict[str, object]:
    """Verify one licence: the text of its offline QR code (``EZZ1:…``) or a sealed
    ``ezz/sealed/1`` document. The answer comes after the use is recorded in the audit log;
    an invalid licence is a 200 whose result says FAILED and why."""
    require_clerk(caller, request.clerk)
    if is_token(request.document):  # a 亮证 code (EZT1): resolved by its platform
        assert isinstance(request.document, str)
        # Reads the registry and may ask a peer platform: it blocks, so a worker thread.
        return await run_in_threadpool(
            functools.partial(
                resolve_token,
                presentation,
                caller,
                token=request.document,
                use_cause=request.use_cause,
                item_code=request.item_code,
                clerk=request.clerk,
            )
        )
    # Verification and the audit commit are CPU work and a blocking write: one worker-thread
    # hop for both. The body is exactly VerifyResponse's shape (a test holds every demo
    # sample's answer to it), so it is sent as it is rather than validated field by field.
    body = await run_in_threadpool(_verify_document, service, caller, request)
    return JSONResponse(body)


def _verify_document(service: Service, caller: Caller, request: VerifyRequest) -> dict[str, object]:
    """Verify ``request.document``, record the use and return the answer body."""
    request_id = uuid.uuid4().hex
    document = _document_bytes(request.document)
    result = service.verifier.verify(document)
    use = Use(caller, request.use_cause, request.item_code, request.clerk)
    region = service.settings.region
    entry = use.entry(result, action="verify", request_id=request_id, region=region)
    (seq,) = record_audit(service, [entry])
    service.metrics.verifications.labels("verify", result.status.value).inc()
    return {
        "request_id": request_id,
        "audit_seq": seq,
        "result": result_view(
            result,
            document=document,
            trust_store=service.verifier.trust_store,
        ),
    }


@router.post(
    IMAGE_ROUTE.removeprefix("/v1"),
    response_model=ImageVerifyResponse,
    responses=_ERRORS,
    summary="Verify every QR code in a photo",
    dependencies=[Depends(require_multipart)],
    # One picture and a few short fields; anything more is refused while parsing (400).
    form_limits={"max_files": 1, "max_fields": 8, "max_part_size": 4096},
)
def verify_image(
    service: Annotated[Service, Depends(get_service)],
    settings: SettingsDep,
    caller: Annotated[Caller, Depends(require_roles(*VERIFIERS))],
    file: Annotated[UploadFile, File(description="A photo or scan (PNG, JPEG, WebP, …)")],
    use_cause: Annotated[UseCause, Form()],
    item_code: Annotated[ItemCode, Form()],
    clerk: Annotated[Clerk | None, Form()] = None,
) -> dict[str, object]:
    """Find every QR code in a photo (camera frame, scan, upload) and verify each, in reading
    order; each is recorded in the audit log before the answer. 400 ``no_qr_code`` when the
    picture holds none, ``not_an_image`` when it is not a picture."""
    require_clerk(caller, clerk)
    limit = settings.max_image_bytes
    data = file.file.read(limit + 1)
    try:
        texts = scan_image(data, max_bytes=limit)
    except ImageError as exc:
        raise ServiceError(_IMAGE_CODES.get(exc.reason, "not_an_image"), str(exc)) from None
    if len(texts) > MAX_CODES_PER_IMAGE:
        raise ServiceError(
            "too_many_qr_codes",
            f"the picture holds {len(texts)} QR codes, at most {MAX_CODES_PER_IMAGE} are read",
        )
    request_id = uuid.uuid4().hex
    results = [service.verifier.verify_qr(text) for text in texts]
    use = Use(caller, use_cause, item_code, clerk)
    entries = [
        use.entry(result, action="verify_image", request_id=request_id, region=settings.region)
        for result in results
    ]
    seqs = record_audit(service, entries)
    for result in results:
        service.metrics.verifications.labels("verify_image", result.status.value).inc()
    trust = service.verifier.trust_store
    return {
        "request_id": request_id,
        "audit_seqs": seqs,
        "results": [result_view(r, trust_store=trust) for r in results],
    }
