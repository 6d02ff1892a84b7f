"""Trust — 信任: which roots and which issuing authorities a verifier trusts."""

from __future__ import annotations

from ezhengzhao.trust.directory import load_trust_directory
from ezhengzhao.trust.lists import (
    TrustList,
    TrustListEntry,
    TrustListLoader,
    build_trust_list,
    read_trust_list,
    sign_trust_list,
)
from ezhengzhao.trust.store import TrustStore

__all__ = [
    "TrustList",
    "TrustListEntry",
    "TrustListLoader",
    "TrustStore",
    "build_trust_list",
    "load_trust_directory",
    "read_trust_list",
    "sign_trust_list",
]
