"""亮证 handles — 亮证句柄: the opaque names a platform puts in its EZT1 tokens, and the
licences of a demo region copied into the service's registry.

A holder's app asks its platform for a code; the platform draws a random handle, records
``handle → licence_id`` here, and signs a token carrying the handle alone (never the 证照标识
nor personal data). When the code comes back — from a window of its own region or from a peer
platform — the handle finds the licence in the registry (电子证照库).

The table ``ezz_present_handle`` lives in the service database beside the storage layer's
tables (SQLAlchemy Core, the same code on SQLite and PostgreSQL); :class:`HandleStore`
creates it when missing, under the storage layer's schema lock so that several workers
starting at once do not race.

:func:`import_demo_licences` fills an empty registry with the sealed licences of a demo data
directory that belong to the service's region, as a migration from another 电子证照库 would:
the documents are already sealed, so they are stored as they are, with their status-list
entries, rather than issued again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Final

from sqlalchemy import Column, MetaData, String, Table, Text, insert, select, text

from ezhengzhao import codes
from ezhengzhao.errors import EzhengzhaoError, InputError
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.present import is_valid_handle
from ezhengzhao.status.codec import VALID
from ezhengzhao.status.source import FileStatusSource
from ezhengzhao.trust.store import TrustStore
from verifier_service.db import Database, tables
from verifier_service.db.common import time_text

__all__ = ["HandleStore", "PresentHandle", "import_demo_licences"]

_metadata = MetaData()

#: 亮证句柄: one row per code a holder's app asked for; the handle is random (128 bits).
present_handle = Table(
    "ezz_present_handle",
    _metadata,
    Column("handle", String(128), primary_key=True),
    Column("licence_id", Text, nullable=False),
    Column("created", String(32), nullable=False),
)

_HANDLE_BYTES: Final = 16
_MAX_LICENCE_ID: Final = 160


@dataclass(frozen=True, slots=True)
class PresentHandle:
    """One recorded handle: the licence it stands for and when it was drawn."""

    handle: str
    licence_id: str
    created: str


class HandleStore:
    """``handle → licence_id`` in the service database (see the module docstring)."""

    __slots__ = ("_db",)

    def __init__(self, database: Database) -> None:
        self._db = database
        with database.transactions.write(lock=tables.SCHEMA_LOCK) as conn:
            _metadata.create_all(conn)

    def create(self, licence_id: str) -> str:
        """A new random handle for ``licence_id``, which must be in the registry.

        RegistryError ``not_found`` for a licence the registry does not hold; InputError for
        an identifier that is not text.
        """
        if not isinstance(licence_id, str) or not 0 < len(licence_id) <= _MAX_LICENCE_ID:
            raise InputError(f"licence_id must be text of 1 to {_MAX_LICENCE_ID} characters")
        self._db.registry.get(licence_id)  # RegistryError not_found
        while True:
            handle = secrets.token_urlsafe(_HANDLE_BYTES)
            # A random draw could, in principle, spell a code a handle must never be.
            if is_valid_handle(handle):
                break
        with self._db.transactions.write() as conn:
            conn.execute(
                insert(present_handle).values(
                    handle=handle,
                    licence_id=licence_id,
                    created=time_text(self._db.transactions.now()),
                )
            )
        return handle

    def resolve(self, handle: str) -> str | None:
        """The licence identifier a handle stands for, or None for an unknown handle."""
        with self._db.transactions.read() as conn:
            row = conn.execute(
                select(present_handle.c.licence_id).where(present_handle.c.handle == handle)
            ).first()
        return None if row is None else str(row[0])

    def get(self, handle: str) -> PresentHandle | None:
        """The whole row of a handle, or None."""
        with self._db.transactions.read() as conn:
            row = conn.execute(
                select(present_handle).where(present_handle.c.handle == handle)
            ).first()
        if row is None:
            return None
        return PresentHandle(str(row.handle), str(row.licence_id), str(row.created))


# --------------------------------------------------------------------------- demo import


def _province(region_code: str) -> str:
    return region_code[:2] + "0000"


def _in_region(licence_region: str, region: str) -> bool:
    """Whether a licence issued in ``licence_region`` belongs to the platform of ``region``
    (the province's platform holds its counties' licences)."""
    return _province(licence_region) == _province(region)


def import_demo_licences(
    database: Database, data: Path, region: str, trust_store: TrustStore
) -> int:
    """Copy the sealed licences of ``data/licences/`` issued in ``region``'s province into an
    empty registry; how many were copied (0 when the registry already holds licences).

    Only licences that carry a status-list reference are copied: the registry tracks every
    licence's status, and the demo's status lists (``data/status/``, verified with the
    signers of ``trust_store``) give each its current value; a licence no list vouches for
    is left out rather than recorded as valid. Runs in one registry write
    transaction, so workers starting together import once.
    """
    if not codes.is_valid_region_code(region):
        raise InputError(f"{region!r} is not a valid region code")
    documents = sorted((data / "licences").glob("*.ezz.json"))
    status_source = None
    if (data / "status" / "index.json").is_file():
        status_source = FileStatusSource.from_directory(data / "status", trust_store.signers)
    now = database.transactions.now()
    stamp = now.astimezone(UTC).isoformat(timespec="microseconds")
    rows = []
    for path in documents:
        try:
            raw = path.read_bytes()
            sealed = SealedLicence.from_json(raw)
        except (OSError, EzhengzhaoError):
            continue  # the demo's deliberately broken samples
        licence = sealed.licence
        if licence.status is None or not _in_region(licence.issuer.region_code, region):
            continue
        status = VALID
        if status_source is not None:
            try:
                status = status_source.status_list(
                    licence.status.uri, now, issuer=licence.issuer.code
                ).get(licence.status.idx)
            except (EzhengzhaoError, ValueError, IndexError):
                continue  # no list vouches for its status: a revoked licence must not turn valid
        rows.append((path.name, raw, sealed, status))
    if not rows:
        return 0
    with database.transactions.write(lock=tables.REGISTRY_LOCK) as conn:
        if conn.execute(text("SELECT 1 FROM ezz_licence LIMIT 1")).first() is not None:
            return 0
        lists: set[str] = set()
        for name, raw, sealed, status in rows:
            licence = sealed.licence
            assert licence.status is not None
            uri, idx = licence.status.uri, licence.status.idx
            if uri not in lists:
                lists.add(uri)
                base, _, number = uri.rpartition("/")
                conn.execute(
                    text(
                        "INSERT INTO ezz_status_list (uri, base_uri, number, size, bits, "
                        "allocated, created_at) VALUES (:uri, :base, :number, :size, 2, 0, :at)"
                    ),
                    {
                        "uri": uri,
                        "base": base or uri,
                        "number": int(number) if number.isdigit() else 1,
                        "size": max(1024, idx + 1),
                        "at": stamp,
                    },
                )
            conn.execute(
                text(
                    "INSERT INTO ezz_status_entry (list_uri, idx, status, licence_id) "
                    "VALUES (:uri, :idx, :status, :id)"
                ),
                {"uri": uri, "idx": idx, "status": status, "id": licence.licence_id},
            )
            conn.execute(
                text("UPDATE ezz_status_list SET allocated = allocated + 1 WHERE uri = :uri"),
                {"uri": uri},
            )
            conn.execute(
                text(
                    "INSERT INTO ezz_licence (licence_id, issuer_code, request_id, "
                    "request_digest, type_code, holder_code, version, previous_id, "
                    "superseded_by, list_uri, idx, document, issued_at) VALUES (:id, :issuer, "
                    ":request, :digest, :type, :holder, :version, NULL, NULL, :uri, :idx, "
                    ":document, :at)"
                ),
                {
                    "id": licence.licence_id,
                    "issuer": licence.issuer.code,
                    "request": f"demo-import:{name}",
                    "digest": hashlib.sha256(raw).hexdigest(),
                    "type": licence.type_code,
                    "holder": licence.holder.code,
                    "version": licence.version,
                    "uri": uri,
                    "idx": idx,
                    "document": raw.decode("utf-8"),
                    "at": stamp,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO ezz_history (licence_id, seq, at, event, status, code, reason) "
                    "VALUES (:id, 1, :at, 'issued', :status, NULL, :reason)"
                ),
                {
                    "id": licence.licence_id,
                    "at": stamp,
                    "status": status,
                    "reason": f"imported from the demo's {name}",
                },
            )
    return len(rows)
