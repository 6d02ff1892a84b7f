"""Status lists — 证照状态列表: the IETF OAuth Token Status List, packed, compressed, signed."""

from __future__ import annotations

from ezhengzhao.status.codec import (
    CWT_STATUS_LIST,
    CWT_TTL,
    DEFAULT_MAX_SIZE,
    HDR_TYP,
    INVALID,
    STATUS_LIST_CWT_TYPE,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListBuilder,
    StatusListToken,
    read_status_list_token,
    sign_status_list,
    status_claim,
    verify_status_list_token,
)
from ezhengzhao.status.source import (
    FileStatusSource,
    HttpStatusSource,
    StatusSource,
    speaks_for,
)

__all__ = [
    "CWT_STATUS_LIST",
    "CWT_TTL",
    "DEFAULT_MAX_SIZE",
    "HDR_TYP",
    "INVALID",
    "STATUS_LIST_CWT_TYPE",
    "SUSPENDED",
    "VALID",
    "FileStatusSource",
    "HttpStatusSource",
    "StatusList",
    "StatusListBuilder",
    "StatusListToken",
    "StatusSource",
    "read_status_list_token",
    "sign_status_list",
    "speaks_for",
    "status_claim",
    "verify_status_list_token",
]
