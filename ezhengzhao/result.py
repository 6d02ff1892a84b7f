"""The verification result — 核验结果: one frozen object a window, a batch job or an API returns.

A result has an overall status, the ordered checks that produced it (each with a stable reason
code and a message in Chinese and English), the licence when its signature is intact, the
issuer, the verifying region and the validation time. Problems with a licence are results;
only caller or configuration errors raise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ezhengzhao.model import Issuer, Licence
    from ezhengzhao.qr.payload import QrClaims

__all__ = ["REASONS", "Check", "CheckStatus", "Reason", "Status", "VerificationResult"]


class Status(enum.StrEnum):
    """Overall verdict: 有效 / 无效 / 无法确认."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"

    @property
    def label_zh(self) -> str:
        return {"PASSED": "有效", "FAILED": "无效", "INDETERMINATE": "无法确认"}[self.value]


class CheckStatus(enum.StrEnum):
    """Outcome of one check. WARNING does not change the verdict; SKIPPED means not reached."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"
    WARNING = "WARNING"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True, slots=True)
class Reason:
    """A stable reason code with its messages; codes never change meaning once published."""

    code: str
    zh: str
    en: str


def _reasons(*items: tuple[str, str, str]) -> dict[str, Reason]:
    return {code: Reason(code, zh, en) for code, zh, en in items}


REASONS: dict[str, Reason] = _reasons(
    ("ok", "通过", "passed"),
    # format
    ("format_invalid", "证照文件格式错误", "the document is malformed"),
    ("licence_invalid", "证照数据不符合统一格式", "the licence data violates the unified format"),
    ("seal_format_invalid", "电子签章结构错误", "the electronic signature structure is malformed"),
    ("unsupported_algorithm", "不支持的签名算法", "unsupported signature algorithm"),
    (
        "algorithm_mismatch",
        "签名算法与签章证书的密钥不符",
        "the signature names another algorithm than the signer's key",
    ),
    # signature and data
    ("signature_invalid", "签名验证失败", "the signature does not verify"),
    ("data_hash_mismatch", "证照数据在签章后被改动", "the licence data was changed after sealing"),
    (
        "sealing_mismatch",
        "证照签章信息与电子签章不符",
        "the licence's sealing details do not match its electronic signature",
    ),
    # seal (GB/T 38540)
    (
        "signer_not_in_seal",
        "签章人证书不在印章证书列表中",
        "the signer's certificate is not listed in the seal",
    ),
    ("seal_signature_invalid", "印章制作者签名无效", "the seal maker's signature does not verify"),
    ("seal_maker_untrusted", "印章制作者不可信", "the seal maker is not trusted"),
    ("seal_not_yet_valid", "签章时印章尚未生效", "the seal was not yet valid at signing time"),
    ("seal_expired", "签章时印章已过有效期", "the seal had expired at signing time"),
    # signer certificate and trust
    ("issuer_untrusted", "颁发机构不可信", "the issuing authority is not trusted"),
    (
        "signer_not_listed",
        "签章证书未列入信任列表",
        "the trust lists do not list this certificate for the issuing authority",
    ),
    (
        "status_not_checked",
        "证照来源不可信，未查询其状态",
        "the licence is not from a trusted issuer, so its status list was not fetched",
    ),
    (
        "licence_type_not_listed",
        "颁发机构无权颁发此类证照",
        "the trust lists do not allow this authority to issue this licence type",
    ),
    (
        "trust_data_stale",
        "信任列表已过期未更新，无法确认",
        "the trust list is past its next update; trust cannot be confirmed",
    ),
    (
        "certificate_expired",
        "签章证书在签章时已过期",
        "the signer's certificate had expired at signing time",
    ),
    (
        "certificate_not_yet_valid",
        "签章证书在签章时尚未生效",
        "the signer's certificate was not yet valid at signing time",
    ),
    ("certificate_key_usage", "签章证书用途不符", "the signer's certificate may not sign"),
    ("certificate_invalid", "签章证书链无效", "the signer's certificate chain is invalid"),
    (
        "issuer_mismatch",
        "证照颁发机构与签章证书不符",
        "the licence's issuer does not match the signer's certificate",
    ),
    (
        "signing_time_in_future",
        "签章时间晚于核验时间",
        "the signing time is after the validation time",
    ),
    # identifier
    (
        "licence_id_check_failed",
        "证照标识校验位错误",
        "the licence identifier's check character is wrong",
    ),
    (
        "licence_id_mismatch",
        "证照标识与证照内容不符",
        "the licence identifier does not match the licence's type or issuer",
    ),
    # validity
    ("licence_not_yet_valid", "证照尚未生效", "the licence is not yet valid"),
    ("licence_expired", "证照已过有效期", "the licence has expired"),
    # status (revocation)
    (
        "status_unavailable",
        "无法获取可信的证照状态列表",
        "no trustworthy, current status list could be had",
    ),
    (
        "status_index_invalid",
        "证照状态索引超出状态列表范围",
        "the licence's status index is outside the status list",
    ),
    ("licence_revoked", "证照已被撤销（注销）", "the licence has been revoked"),
    ("licence_suspended", "证照已被暂停使用", "the licence is suspended"),
    # mutual-recognition rules (互认规则)
    (
        "not_recognised_in_region",
        "本地区不予互认该证照",
        "the licence is not recognised in the verifying region",
    ),
    (
        "rules_indeterminate",
        "无法判断互认规则是否满足",
        "could not tell whether a recognition rule is met",
    ),
    # offline QR codes (EZZ1)
    ("qr_prefix_invalid", "不是电子证照核验码", "not an electronic licence code (prefix)"),
    ("qr_base45_invalid", "核验码编码错误 (base45)", "the code's base45 text is malformed"),
    ("qr_zlib_invalid", "核验码数据损坏 (zlib)", "the code's compressed data is corrupt"),
    ("qr_cbor_invalid", "核验码数据结构错误 (CBOR)", "the code's CBOR data is malformed"),
    ("qr_cose_invalid", "核验码签名结构错误 (COSE)", "the code's COSE structure is malformed"),
    ("qr_claims_invalid", "核验码内容不完整", "the code's claims are missing or malformed"),
    ("kid_unknown", "签发密钥未知", "the code was signed by an unknown key"),
    ("qr_expired", "核验码已过期", "the code has expired"),
    (
        "qr_outlives_certificate",
        "核验码有效期超出签发证书有效期",
        "the code claims to be valid after its signer's certificate ends",
    ),
    # online 亮证 tokens (EZT1)
    ("token_malformed", "亮证码格式错误", "the presentation token is malformed"),
    ("token_kid_unknown", "亮证码签发平台未知", "the token was signed by an unknown platform key"),
    ("token_signature_invalid", "亮证码签名验证失败", "the token's signature does not verify"),
    (
        "token_certificate_invalid",
        "亮证码签发时平台证书无效",
        "the platform certificate was not valid when the token was issued",
    ),
    ("token_expired", "亮证码已过期", "the presentation token has expired"),
    ("token_not_yet_valid", "亮证码尚未生效", "the presentation token is not valid yet"),
    (
        "token_audience_mismatch",
        "亮证码不适用于本地区",
        "the token is meant for another verifying region",
    ),
    ("token_replayed", "亮证码已被使用", "the presentation token was already used"),
    (
        "token_replay_unchecked",
        "无法确认亮证码是否已被使用",
        "could not check whether the token was already used",
    ),
    (
        "token_lifetime_too_long",
        "亮证码有效期过长",
        "the token's lifetime exceeds the permitted maximum",
    ),
    # 亮证 resolution by a platform (the verifier service)
    (
        "licence_not_found",
        "亮证码对应的证照不在证照库中",
        "the code names no licence in the issuing platform's registry",
    ),
    (
        "region_not_reachable",
        "无法连接亮证码签发地区的平台",
        "no platform is configured for the region that issued the code",
    ),
    (
        "storage_unavailable",
        "证照库暂时无法读取",
        "the platform's registry cannot be read now",
    ),
    (
        "peer_unavailable",
        "签发地区平台暂时无法响应",
        "the issuing region's platform cannot answer now",
    ),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One step of a verification, in the order it ran."""

    name: str
    status: CheckStatus
    reason: str
    detail: str = ""

    @property
    def message_zh(self) -> str:
        return _message(self.reason, "zh", self.detail)

    @property
    def message_en(self) -> str:
        return _message(self.reason, "en", self.detail)

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


def _message(code: str, lang: str, detail: str) -> str:
    reason = REASONS.get(code)
    text = code if reason is None else (reason.zh if lang == "zh" else reason.en)
    return f"{text}: {detail}" if detail else text


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Verdict on one licence — 核验结果.

    ``licence`` is set only when the signature over the licence data is intact, so a caller
    can never display fields that the issuer did not seal.
    """

    status: Status
    checks: tuple[Check, ...]
    validation_time: datetime
    licence: Licence | None = None
    issuer: Issuer | None = None
    verifying_region: str | None = None
    suite: str | None = None
    warnings: tuple[str, ...] = field(default=())
    claims: QrClaims | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        """Reason codes of the checks that failed or could not decide, in order."""
        bad = (CheckStatus.FAILED, CheckStatus.INDETERMINATE)
        return tuple(c.reason for c in self.checks if c.status in bad)

    @property
    def ok(self) -> bool:
        return self.status is Status.PASSED

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view for the CLI and the service."""
        from ezhengzhao.formats.licence_json import licence_to_dict

        return {
            "status": self.status.value,
            "status_zh": self.status.label_zh,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "checks": [c.to_dict() for c in self.checks],
            "validation_time": self.validation_time.isoformat(),
            "verifying_region": self.verifying_region,
            "suite": self.suite,
            "issuer": None
            if self.issuer is None
            else {
                "name": self.issuer.name,
                "code": self.issuer.code,
                "region_code": self.issuer.region_code,
                "level": self.issuer.level,
            },
            "licence": None if self.licence is None else licence_to_dict(self.licence),
            "claims": None if self.claims is None else self.claims.to_dict(),
        }


def overall(checks: tuple[Check, ...]) -> Status:
    """FAILED if any check failed; else INDETERMINATE if any could not decide; else PASSED."""
    statuses = {c.status for c in checks}
    if _CHECK_FAILED in statuses:
        return Status.FAILED
    if _CHECK_INDETERMINATE in statuses:
        return Status.INDETERMINATE
    return Status.PASSED


# Module constants: reading a member off an enum class goes through the enum metaclass, which
# costs more than the set operations above (this runs once per verification).
_CHECK_FAILED = CheckStatus.FAILED
_CHECK_INDETERMINATE = CheckStatus.INDETERMINATE
