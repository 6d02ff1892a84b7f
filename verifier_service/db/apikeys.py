"""API keys — 接口密钥: who may call the service, in which role.

A key has an id, a role (``window`` 窗口, ``peer`` 外省平台, ``admin`` 管理) and, for a peer,
the region code (行政区划代码) it speaks for. Its secret reads ``ezzk_<key_id>_<random>``;
the random part carries 256 bits, so a plain SHA-256 of the whole secret is all that is stored
(no salt or slow hash is needed against guessing at that entropy), and authentication compares
hashes in constant time. A revoked key never authenticates again.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import RowMapping, insert, select, update

from ezhengzhao.codes import is_valid_region_code
from ezhengzhao.errors import InputError
from verifier_service.db import tables
from verifier_service.db.common import check_text, parse_time_text, time_text

if TYPE_CHECKING:
    from verifier_service.db.engine import Transactions

__all__ = ["KEY_ROLES", "SECRET_PREFIX", "ApiKey", "ApiKeyStore"]

KEY_ROLES: Final = ("window", "peer", "admin")
SECRET_PREFIX: Final = "ezzk"

_ID_BYTES: Final = 8
_SECRET_BYTES: Final = 32
_MAX_SECRET: Final = 200
# Compared against when the key id is unknown, so that such a miss costs what a hit does.
_DUMMY_HASH: Final = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's public part — 接口密钥 (the secret itself is never stored)."""

    key_id: str
    role: str
    region: str | None
    name: str
    created: datetime
    revoked: datetime | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked is None

    def to_dict(self) -> dict[str, object]:
        """The key as JSON-ready data."""
        return {
            "key_id": self.key_id,
            "role": self.role,
            "region": self.region,
            "name": self.name,
            "created": time_text(self.created),
            "revoked": None if self.revoked is None else time_text(self.revoked),
        }


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiKeyStore:
    """Creates, authenticates, lists and revokes API keys."""

    __slots__ = ("_tx",)

    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    def create(self, *, role: str, region: str | None = None, name: str = "") -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is shown once and cannot be recovered.

        A ``peer`` key must name a valid region code; other roles may (e.g. a window's own
        region). InputError for an unknown role or a bad region or name.
        """
        if role not in KEY_ROLES:
            raise InputError(f"role must be one of {', '.join(KEY_ROLES)}, not {role!r}")
        if region is None:
            if role == "peer":
                raise InputError("a peer key must be bound to its region code")
        elif not is_valid_region_code(region):
            raise InputError(f"{region!r} is not a valid region code (行政区划代码)")
        if name != "":
            check_text(name, "name", 200)
        key_id = secrets.token_hex(_ID_BYTES)
        secret = f"{SECRET_PREFIX}_{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
        with self._tx.write() as conn:
            created = self._tx.now()
            conn.execute(
                insert(tables.api_key).values(
                    key_id=key_id,
                    secret_hash=_secret_hash(secret),
                    role=role,
                    region=region,
                    name=name,
                    created=time_text(created),
                    revoked=None,
                )
            )
        key = ApiKey(key_id, role, region, name, parse_time_text(time_text(created)), None)
        return key, secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, else None (unknown, malformed or revoked)."""
        if not isinstance(secret, str) or len(secret) > _MAX_SECRET:
            return None
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != SECRET_PREFIX or not parts[1].isalnum():
            return None
        with self._tx.read() as conn:
            row = (
                conn.execute(select(tables.api_key).where(tables.api_key.c.key_id == parts[1]))
                .mappings()
                .first()
            )
        stored = _DUMMY_HASH if row is None else str(row["secret_hash"])
        matches = hmac.compare_digest(_secret_hash(secret), stored)
        if row is None or not matches or row["revoked"] is not None:
            return None
        return _key(row)

    def get(self, key_id: str) -> ApiKey | None:
        """The key with this id (active or revoked), or None."""
        with self._tx.read() as conn:
            row = (
                conn.execute(select(tables.api_key).where(tables.api_key.c.key_id == key_id))
                .mappings()
                .first()
            )
        return None if row is None else _key(row)

    def list(self) -> builtins.list[ApiKey]:
        """Every key, active and revoked, oldest first."""
        table = tables.api_key
        with self._tx.read() as conn:
            rows = conn.execute(select(table).order_by(table.c.created, table.c.key_id))
            return [_key(row) for row in rows.mappings()]

    def revoke(self, key_id: str) -> bool:
        """Revoke the key for good; True if an active key was revoked, False if none was."""
        table = tables.api_key
        with self._tx.write() as conn:
            result = conn.execute(
                update(table)
                .where(table.c.key_id == key_id, table.c.revoked.is_(None))
                .values(revoked=time_text(self._tx.now()))
            )
            return result.rowcount == 1


def _key(row: RowMapping) -> ApiKey:
    revoked = row["revoked"]
    region = row["region"]
    return ApiKey(
        key_id=str(row["key_id"]),
        role=str(row["role"]),
        region=None if region is None else str(region),
        name=str(row["name"]),
        created=parse_time_text(row["created"]),
        revoked=None if revoked is None else parse_time_text(revoked),
    )
