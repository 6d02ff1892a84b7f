"""A trust directory — 信任目录: what a verifier trusts, as files.

Layout (every part optional but one kind of trust must be there)::

    anchors/*.pem        trust-list anchors (the keys that sign trust lists), national
    anchors/RRRRRR/*.pem anchors scoped to region RRRRRR (e.g. 340000): they sign lists for
                         regions within it only
    lists/*.cose         signed trust lists (ezz/trust-list/1), verified with the anchors
    roots/*.pem          root certificates, intermediates/*.pem, signers/*.pem,
    seal-makers/*.pem    seal makers, issuers.json: a root-certificate trust store

With ``anchors/`` and ``lists/`` the lists are the normal configuration: they say who may
issue which licence types, with which certificates. A root-certificate store alone (``roots/``)
is still accepted; given beside lists, its roots, signers and seal makers are added to theirs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from ezhengzhao import codes
from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.errors import CertificateError, ConfigurationError
from ezhengzhao.sign.x509 import Certificate, load_certificates
from ezhengzhao.trust.lists import NATIONAL_REGION, TrustListLoader
from ezhengzhao.trust.store import TrustStore

__all__ = ["load_trust_directory"]


def load_trust_directory(
    path: str | os.PathLike[str],
    *,
    clock: Clock = system_clock,
    grace: timedelta = timedelta(hours=24),
) -> tuple[TrustStore | None, TrustListLoader | None]:
    """The root-certificate store and the trust list loader a trust directory configures.

    Lists already stale are held all the same (verifications they cover then say
    ``trust_data_stale``). ConfigurationError when the directory holds no trust at all, when
    lists come without anchors or anchors without lists; TrustListError when a list is
    refused (bad signature, unknown anchor, rollback between two files, malformed).
    """
    base = Path(path)
    if not base.is_dir():
        raise ConfigurationError(f"trust directory {base} does not exist")
    store = TrustStore.from_directory(base) if (base / "roots").is_dir() else None
    list_files = sorted((base / "lists").glob("*.cose"))
    anchors = _anchors(base / "anchors")
    if bool(list_files) != any(anchors.values()):
        missing = "anchors/*.pem" if list_files else "lists/*.cose"
        raise ConfigurationError(f"trust directory {base}: trust lists need {missing} too")
    loader = None
    if list_files:
        loader = TrustListLoader(anchors=anchors, grace=grace, clock=clock)
        for file in list_files:
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise ConfigurationError(f"cannot read trust list {file}: {exc}") from None
            loader.load(data, keep_stale=True)
    if store is None and loader is None:
        raise ConfigurationError(
            f"trust directory {base} has neither anchors/ with lists/ nor roots/"
        )
    return store, loader


def _anchors(folder: Path) -> dict[str, list[Certificate]]:
    """The anchors of ``anchors/`` by scope: its own PEM files are national, those of a
    subdirectory named by a 行政区划代码 are scoped to that region."""
    scoped = {NATIONAL_REGION: _certificates(folder)}
    if not folder.is_dir():
        return scoped
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name == NATIONAL_REGION or not codes.is_valid_region_code(sub.name):
            raise ConfigurationError(
                f"{sub}: a subdirectory of anchors/ is named by the 行政区划代码 its anchors "
                "are scoped to (national anchors go in anchors/ itself)"
            )
        scoped[sub.name] = _certificates(sub)
    return scoped


def _certificates(folder: Path) -> list[Certificate]:
    out: list[Certificate] = []
    for file in sorted(folder.glob("*.pem")):
        try:
            out.extend(load_certificates(file.read_bytes()))
        except (OSError, CertificateError) as exc:
            raise ConfigurationError(f"{file}: {exc}") from None
    return out
