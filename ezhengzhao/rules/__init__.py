"""Business rules — 业务规则: the CertLogic engine that evaluates cross-border rules.

The data a rule sees is ``{"payload": …, "external": {…}}``; time comes from the data
(``external.validationClock``), never from the machine clock.
"""

from __future__ import annotations

from ezhengzhao.rules.certlogic import (
    CertLogicDateTime,
    CertLogicError,
    evaluate,
    is_falsy,
    is_truthy,
    validate,
)

__all__ = [
    "CertLogicDateTime",
    "CertLogicError",
    "evaluate",
    "is_falsy",
    "is_truthy",
    "validate",
]
