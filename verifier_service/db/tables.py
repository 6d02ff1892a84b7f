"""The service's tables (SQLAlchemy Core) — 数据表: audit log, API keys, replay cache.

The issuer registry's tables (``ezz_licence`` …) are created by :mod:`ezhengzhao.registry`'s
own DDL, which both SQLite and PostgreSQL accept; only the service's tables are declared here.

Times are stored as fixed-width ISO 8601 UTC text (``2026-06-01T08:00:00.000000Z``): the audit
hash covers exactly the stored text, and text order is time order.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "AUDIT_LOCK",
    "REGISTRY_LOCK",
    "SCHEMA_LOCK",
    "api_key",
    "audit",
    "metadata",
    "replay",
]

# PostgreSQL advisory lock keys (transaction-scoped): one per thing whose writers must queue.
# SQLite needs none: ``BEGIN IMMEDIATE`` takes the one database-wide write lock.
SCHEMA_LOCK: Final = 0x657A_7A00  # creating tables
AUDIT_LOCK: Final = 0x657A_7A01  # appending to the hash chain
REGISTRY_LOCK: Final = 0x657A_7A02  # the issuer registry's write transactions

metadata = MetaData()

#: 用证留痕: one row per verification or resolution, hash-chained by ``prev_hash``.
audit = Table(
    "ezz_audit",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("caller_key_id", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("clerk", Text),
    Column("region", String(16)),
    Column("licence_id", Text),
    Column("holder_hash", String(64)),  # HMAC-SHA256(holder key, ID number), never the number
    Column("item_code", Text),
    Column("use_cause", Text),
    Column("verdict", String(16), nullable=False),
    Column("reasons", Text, nullable=False),  # JSON array of reason codes
    Column("request_id", String(128), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index("ezz_audit_licence", "licence_id"),
    Index("ezz_audit_caller", "caller_key_id"),
    Index("ezz_audit_at", "at"),
    Index("ezz_audit_holder", "holder_hash"),
)

#: API keys: only SHA-256 of the secret is kept.
api_key = Table(
    "ezz_api_key",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("region", String(16)),
    Column("name", Text, nullable=False),
    Column("created", String(32), nullable=False),
    Column("revoked", String(32)),
)

#: 防重放: token ids claimed once; the primary key makes the first INSERT win.
replay = Table(
    "ezz_replay",
    metadata,
    Column("jti", LargeBinary(64), primary_key=True),
    Column("expires_us", BigInteger, nullable=False),
    Index("ezz_replay_expiry", "expires_us"),
)
