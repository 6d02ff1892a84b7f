"""Business rules — 业务规则: the CertLogic engine and signed mutual-recognition rule sets.

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
from ezhengzhao.rules.rulesets import (
    Rule,
    RuleOutcome,
    RuleSet,
    RuleSetError,
    RuleSetLoader,
    builtin_rule_sets,
    evaluate_rules,
    read_rule_set,
    sign_rule_set,
)

__all__ = [
    "CertLogicDateTime",
    "CertLogicError",
    "Rule",
    "RuleOutcome",
    "RuleSet",
    "RuleSetError",
    "RuleSetLoader",
    "builtin_rule_sets",
    "evaluate",
    "evaluate_rules",
    "is_falsy",
    "is_truthy",
    "read_rule_set",
    "sign_rule_set",
    "validate",
]
