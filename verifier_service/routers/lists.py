"""Published lists — 信任列表、状态列表、互认规则: the data directory's signed files, as they are.

Anyone may fetch them (no key): they are signed, and a verifier elsewhere checks them against
its own anchors. Files are found by listing their folder, never by joining a requested name
into a path, so no request can reach outside it:

- ``GET /v1/trust-list``        DATA/trust/lists/<region>.cose (the service's region unless
                                ``?region=`` names another)
- ``GET /v1/status/{list_id}``  the token files DATA/status/index.json names, by file stem
- ``GET /v1/rules/{region}``    DATA/rules/<region>.cose
"""

from __future__ import annotations

import hashlib
from pathlib import Path as FilePath
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from ezhengzhao.errors import DecodeError
from ezhengzhao.formats.jsonio import loads
from ezhengzhao.status.codec import STATUS_LIST_CWT_TYPE
from verifier_service.dependencies import SettingsDep
from verifier_service.errors import ServiceError
from verifier_service.schemas import ErrorBody

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["lists"])

COSE_TYPE: Final = "application/cose; cose-type=cose-sign1"
# Signed files change when their publisher updates them: caches may keep them briefly.
_CACHE: Final = "public, max-age=60"
_MAX_FILE: Final = 16 << 20


def _binary(media_type: str, description: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"model": ErrorBody, "description": "not_found"},
        422: {"model": ErrorBody, "description": "invalid_request"},
    }


def _files(folder: FilePath, suffix: str) -> dict[str, FilePath]:
    """The regular files named ``*<suffix>`` directly in ``folder``, by stem."""
    try:
        return {
            p.name.removesuffix(suffix): p
            for p in folder.iterdir()
            if p.name.endswith(suffix) and p.is_file()
        }
    except OSError:
        return {}


def _serve(path: FilePath | None, media_type: str, what: str) -> Response:
    if path is None:
        raise ServiceError("not_found", f"no such {what}")
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_FILE + 1)
    except OSError:
        raise ServiceError("not_found", f"no such {what}") from None
    if len(data) > _MAX_FILE:
        raise ServiceError("not_found", f"no such {what}")
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return Response(data, media_type=media_type, headers={"Cache-Control": _CACHE, "ETag": etag})


ListId = Annotated[
    str, Path(description="A status list's name: region and list number.", examples=["310000-1"])
]
RegionPath = Annotated[
    str, Path(description="The rule set's region (行政区划代码).", examples=["340000"])
]
RegionQuery = Annotated[
    str | None,
    Query(
        description="Whose trust list (行政区划代码); default the service's region.",
        examples=["340000"],
    ),
]


@router.get(
    "/trust-list",
    response_class=Response,
    responses=_binary(COSE_TYPE, "The signed trust list (COSE_Sign1 over ezz/trust-list/1)."),
    summary="The signed trust list",
)
def trust_list(settings: SettingsDep, region: RegionQuery = None) -> Response:
    """The signed trust list (信任列表) of the service's region, or of ``region``."""
    wanted = region or settings.region
    files = _files(settings.data / "trust" / "lists", ".cose")
    return _serve(files.get(wanted) if wanted else None, COSE_TYPE, "trust list")


@router.get(
    "/status/{list_id}",
    response_class=Response,
    responses=_binary(STATUS_LIST_CWT_TYPE, "The signed Token Status List (CWT)."),
    summary="A signed status list",
)
def status_list(list_id: ListId, settings: SettingsDep) -> Response:
    """A signed status list (状态列表), e.g. ``310000-1``: the token file the status index
    names for a list URI, by its name without ``.cwt``."""
    folder = settings.data / "status"
    try:
        index = loads((folder / "index.json").read_bytes(), what="status index")
    except (OSError, DecodeError):
        index = {}
    names = index.values() if isinstance(index, dict) else ()
    files = _files(folder, ".cwt")
    published = {name.removesuffix(".cwt") for name in names if isinstance(name, str)}
    path = files.get(list_id) if list_id in published else None
    return _serve(path, STATUS_LIST_CWT_TYPE, "status list")


@router.get(
    "/rules/{region}",
    response_class=Response,
    responses=_binary(COSE_TYPE, "The signed mutual-recognition rule set (COSE_Sign1)."),
    summary="A region's signed rule set",
)
def rule_set(region: RegionPath, settings: SettingsDep) -> Response:
    """The signed mutual-recognition rule set (互认规则) of ``region`` (行政区划代码)."""
    files = _files(settings.data / "rules", ".cose")
    return _serve(files.get(region), COSE_TYPE, "rule set")
