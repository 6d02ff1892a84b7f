"""The trust store a verifier is built from — 信任库.

A set of root certificates (a root CA per region, as the demo PKI makes), optional
intermediates, an optional allow-list of issuing authorities by 统一社会信用代码, and the
authorities' signer certificates, which offline QR codes name only by kid, and the recognised
seal makers (制章者): a seal counts only when one of them made it, since any authority's key
chains to a root and could otherwise make a seal with any name and picture. Signed trust lists
build on this; no verifier exists without a trust store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ezhengzhao import codes
from ezhengzhao.errors import CertificateError, ConfigurationError
from ezhengzhao.formats.jsonio import loads
from ezhengzhao.sign.x509 import Certificate, load_certificates

__all__ = ["TrustStore"]


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Roots, intermediates and the authorities a verifier accepts.

    ``allowed_issuers=None`` accepts any authority whose certificate chains to a root; a set
    restricts acceptance to those USCCs.
    """

    roots: tuple[Certificate, ...]
    intermediates: tuple[Certificate, ...] = ()
    allowed_issuers: frozenset[str] | None = None
    signers: tuple[Certificate, ...] = ()
    seal_makers: tuple[Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not self.roots:
            raise ConfigurationError("a trust store needs at least one root certificate")
        for root in self.roots:
            if not root.is_ca:
                raise ConfigurationError(f"trust root {root.subject} is not a CA certificate")
        if self.allowed_issuers is not None:
            bad = sorted(c for c in self.allowed_issuers if not codes.is_valid_uscc(c))
            if bad:
                raise ConfigurationError(
                    f"allowed issuer {bad[0]!r} is not a valid 统一社会信用代码"
                )

    @classmethod
    def from_certificates(
        cls,
        roots: Iterable[Certificate],
        intermediates: Iterable[Certificate] = (),
        allowed_issuers: Iterable[str] | None = None,
        signers: Iterable[Certificate] = (),
        seal_makers: Iterable[Certificate] = (),
    ) -> TrustStore:
        return cls(
            tuple(roots),
            tuple(intermediates),
            None if allowed_issuers is None else frozenset(allowed_issuers),
            tuple(signers),
            tuple(seal_makers),
        )

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> TrustStore:
        """Load ``roots/*.pem``, optional ``intermediates/*.pem``, ``signers/*.pem``,
        ``seal-makers/*.pem`` and ``issuers.json``.

        ``issuers.json`` is ``{"allowed_issuers": ["<USCC>", …]}``.
        """
        base = Path(path)
        if not base.is_dir():
            raise ConfigurationError(f"trust directory {base} does not exist")
        roots = _load_dir(base / "roots")
        if not roots:
            raise ConfigurationError(f"no root certificates in {base / 'roots'}")
        intermediates = _load_dir(base / "intermediates")
        allowed: frozenset[str] | None = None
        issuers_file = base / "issuers.json"
        if issuers_file.exists():
            value = loads(issuers_file.read_bytes(), what=str(issuers_file))
            items = value.get("allowed_issuers") if isinstance(value, dict) else None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ConfigurationError(
                    f'{issuers_file}: expected {{"allowed_issuers": [USCC, …]}}'
                )
            allowed = frozenset(str(i) for i in items)
        return cls(
            tuple(roots),
            tuple(intermediates),
            allowed,
            tuple(_load_dir(base / "signers")),
            tuple(_load_dir(base / "seal-makers")),
        )


def _load_dir(folder: Path) -> list[Certificate]:
    if not folder.is_dir():
        return []
    out: list[Certificate] = []
    for file in sorted(folder.glob("*.pem")):
        try:
            out.extend(load_certificates(file.read_bytes()))
        except CertificateError as exc:
            raise ConfigurationError(f"{file}: {exc}") from None
    return out
