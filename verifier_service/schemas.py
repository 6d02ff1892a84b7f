"""Request and response bodies of the HTTP API, with the examples the OpenAPI schema shows."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, PlainValidator

__all__ = [
    "AuditResponse",
    "ErrorBody",
    "HealthResponse",
    "ImageVerifyResponse",
    "VerificationResultBody",
    "VerifyRequest",
    "VerifyResponse",
]

# Text the audit log keeps: no control characters (a NUL cannot even be stored in PostgreSQL),
# and something besides white space.
PLAIN_TEXT: Final = r"^[^\x00-\x1f\x7f]+$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("is not valid Unicode text")
    return value


def _text(max_length: int, description: str, examples: list[str]) -> Any:
    return Field(
        min_length=1,
        max_length=max_length,
        pattern=PLAIN_TEXT,
        description=description,
        examples=examples,
    )


UseCause = Annotated[
    str,
    _text(
        200, "Why the licence is used (用证事由), at most 200 characters.", ["办理食品经营许可变更"]
    ),
    AfterValidator(_not_blank),
]
ItemCode = Annotated[
    str,
    _text(
        64,
        "The 事项编码 of the government service being handled.",
        ["11340000MB0143848N4000111017000"],
    ),
    AfterValidator(_not_blank),
]
Clerk = Annotated[
    str,
    _text(64, "The window clerk handling the case (required for window keys).", ["王芳"]),
    AfterValidator(_not_blank),
]

# A sealed licence nests four levels deep; far deeper JSON is not a licence document.
MAX_DOCUMENT_DEPTH: Final = 32


def _document(value: object) -> str | dict[str, JsonValue]:
    """A QR text or a JSON object, checked by hand so that a wrong type gets one clear
    message (not one per union branch) and deep nesting is refused without recursion."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise ValueError("must be a QR text or a sealed licence (a JSON string or object)")
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DOCUMENT_DEPTH:
            raise ValueError(f"is nested more than {MAX_DOCUMENT_DEPTH} levels deep")
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return value


Document = Annotated[
    str | dict[str, JsonValue],
    PlainValidator(_document, json_schema_input_type=str | dict[str, JsonValue]),
]

_QR_EXAMPLE: Final = (
    "EZZ1:NCFOXNMG2FDH.MHWEAPCGRQG/MQI%V73TUGL:D4*OVP36 73GG3323-C3 HGSHG4HG5II./2MTAD/C9C63TA"
)


class VerifyRequest(BaseModel):
    """A licence to verify: a QR text, or a sealed ``ezz/sealed/1`` document."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "document": _QR_EXAMPLE,
                    "use_cause": "办理食品经营许可变更",
                    "item_code": "11340000MB0143848N4000111017000",
                    "clerk": "王芳",
                }
            ]
        },
    )

    document: Document = Field(
        description=(
            "The text of an offline QR code (``EZZ1:…``, as a scanner gun types it), or a "
            "sealed licence ``ezz/sealed/1`` as a JSON string or object."
        ),
        examples=[_QR_EXAMPLE],
    )
    use_cause: UseCause
    item_code: ItemCode
    clerk: Clerk | None = None


class ErrorBody(BaseModel):
    """A refusal: a machine-readable code and a message."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "unauthenticated", "message": "an API key is required"}]
        }
    )

    code: str = Field(examples=["invalid_request"])
    message: str
    errors: list[dict[str, str]] | None = Field(
        default=None, description="For invalid_request: each offending field's path and problem."
    )


class CheckBody(BaseModel):
    name: str
    status: Literal["PASSED", "FAILED", "INDETERMINATE", "WARNING", "SKIPPED"]
    reason: str
    message_zh: str
    message_en: str


class IssuerBody(BaseModel):
    name: str
    code: str
    region_code: str
    level: str


class FieldBody(BaseModel):
    key: str
    label: str = Field(description="The field's Chinese label from the catalogue.")
    value: str | int


class ReasonBody(BaseModel):
    code: str
    message_zh: str
    message_en: str
    detail: str = ""


class DisplayBody(BaseModel):
    """What a window shows: verdict, surface fields with Chinese labels, reasons, seal.

    The licence's content (title to fields) is null or empty unless its authenticity checks
    passed; the seal picture needs the seal checks too (see :mod:`verifier_service.views`).
    """

    verdict: Literal["PASSED", "FAILED", "INDETERMINATE"]
    verdict_zh: Literal["有效", "无效", "无法确认"]
    unverified: bool = Field(
        description="True when the licence's content is withheld: it is not shown to be the "
        "issuer's own (forged, tampered, or nothing could be read)."
    )
    notice_zh: str | None = Field(description="Why nothing is shown, in Chinese; else null.")
    notice_en: str | None = Field(description="The same in English; else null.")
    title: str | None = Field(description="The licence type's name (证照类型名称).")
    licence_id: str | None
    holder_name: str | None
    issuer_name: str | None
    valid_from: str | None
    valid_until: str | None = Field(description="A date, 长期 for no end, or null.")
    fields: list[FieldBody]
    reasons: list[ReasonBody]
    seal_picture: str | None = Field(
        description="The seal's picture as a PNG data URL (sealed documents); null for QR codes."
    )


class VerificationResultBody(BaseModel):
    """The verification result (核验结果) with its display view."""

    status: Literal["PASSED", "FAILED", "INDETERMINATE"]
    status_zh: str
    reasons: list[str]
    warnings: list[str]
    checks: list[CheckBody]
    validation_time: str
    verifying_region: str | None
    suite: str | None
    issuer: IssuerBody | None
    licence: dict[str, JsonValue] | None
    claims: dict[str, JsonValue] | None
    display: DisplayBody


_DISPLAY_EXAMPLE: Final[dict[str, JsonValue]] = {
    "verdict": "PASSED",
    "verdict_zh": "有效",
    "unverified": False,
    "notice_zh": None,
    "notice_en": None,
    "title": "教师资格证书",
    "licence_id": "1.2.156.3005.2.11100000000090034P001.11340100003050222J.202600100005.001.P",
    "holder_name": "陈静",
    "issuer_name": "合肥市教育局",
    "valid_from": "2026-11-22",
    "valid_until": "长期",
    "fields": [
        {"key": "KZ_ZSBH", "label": "证书编号", "value": "20243101142000123"},
        {"key": "KZ_XM", "label": "姓名", "value": "陈静"},
        {"key": "KZ_ZGZL", "label": "资格种类", "value": "初级中学教师资格"},
    ],
    "reasons": [],
    "seal_picture": None,
}

_RESULT_EXAMPLE: Final[dict[str, JsonValue]] = {
    "status": "PASSED",
    "status_zh": "有效",
    "reasons": [],
    "warnings": [],
    "checks": [
        {
            "name": name,
            "status": "PASSED",
            "reason": "ok",
            "message_zh": "通过",
            "message_en": "passed",
        }
        for name in (
            "format",
            "signature",
            "claims",
            "signer.chain",
            "trust.issuer",
            "identifier",
            "expiry",
            "validity",
        )
    ],
    "validation_time": "2026-11-22T20:39:11+00:00",
    "verifying_region": "340000",
    "suite": "SM2-SM3",
    "issuer": None,
    "licence": None,
    "claims": {
        "issuer_code": "11340100003050222J",
        "licence_id": _DISPLAY_EXAMPLE["licence_id"],
        "type_code": "11100000000090034P001",
        "holder_name": "陈静",
    },
    "display": _DISPLAY_EXAMPLE,
}


class VerifyResponse(BaseModel):
    """One verification, acknowledged after its audit record was written."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "5f0c6a4f2b7e4d0e9b1c3a2d4e5f6a7b",
                    "audit_seq": 17,
                    "result": _RESULT_EXAMPLE,
                }
            ]
        }
    )

    request_id: str
    audit_seq: int = Field(description="The audit record (用证留痕) of this verification.")
    result: VerificationResultBody


class ImageVerifyResponse(BaseModel):
    """Every QR code found in a picture, in reading order, each verified and audited."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "5f0c6a4f2b7e4d0e9b1c3a2d4e5f6a7b",
                    "audit_seqs": [18],
                    "results": [_RESULT_EXAMPLE],
                }
            ]
        }
    )

    request_id: str
    audit_seqs: list[int]
    results: list[VerificationResultBody]


class AuditRecordBody(BaseModel):
    """One audit record; ``holder_hash`` is the keyed hash of the holder's ID number."""

    seq: int
    at: str
    action: str
    caller_key_id: str
    role: str
    clerk: str | None
    region: str | None
    licence_id: str | None
    holder_hash: str | None
    item_code: str | None
    use_cause: str | None
    verdict: str
    reasons: list[str]
    request_id: str
    prev_hash: str
    hash: str


class AuditResponse(BaseModel):
    """Audit records in order of ``seq``; page on with ``after_seq`` = the last seq seen."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "seq": 17,
                            "at": "2026-11-22T20:39:11.000000Z",
                            "action": "verify",
                            "caller_key_id": "k3q9x2",
                            "role": "window",
                            "clerk": "王芳",
                            "region": "340000",
                            "licence_id": _DISPLAY_EXAMPLE["licence_id"],
                            "holder_hash": "9d1f…",
                            "item_code": "11340000MB0143848N4000111017000",
                            "use_cause": "办理食品经营许可变更",
                            "verdict": "PASSED",
                            "reasons": [],
                            "request_id": "5f0c6a4f2b7e4d0e9b1c3a2d4e5f6a7b",
                            "prev_hash": "0" * 64,
                            "hash": "3b2c…",
                        }
                    ]
                }
            ]
        }
    )

    records: list[AuditRecordBody]


class HealthResponse(BaseModel):
    """The service is up and can reach its database."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "region": "340000", "database": "sqlite"}]}
    )

    status: Literal["ok"]
    region: str | None
    database: str
