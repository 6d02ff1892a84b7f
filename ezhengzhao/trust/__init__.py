"""Trust — 信任: which roots and which issuing authorities a verifier trusts."""

from __future__ import annotations

from ezhengzhao.trust.store import TrustStore

__all__ = ["TrustStore"]
