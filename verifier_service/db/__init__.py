"""The verifier service's storage — 存储: audit log, API keys, replay cache, issuer registry.

One database, chosen by URL: SQLite (the default, a file under ``DATA/service/``) or
PostgreSQL (``postgresql+psycopg://…``, for several workers on several hosts); the same code
runs on both (SQLAlchemy Core). Typical use::

    from verifier_service.db import default_database_url, load_or_create_secret, open_database

    key = load_or_create_secret(data / "service" / "audit-holder.key")
    db = open_database(default_database_url(data), holder_key=key)
    record = db.audit.append(AuditEntry(...))   # durable when it returns
    db.close()

``StorageError`` means the database cannot be used right now or refused a statement — every
driver error becomes one (answer 503), ``StorageConflict`` when a constraint refused a write;
bad arguments raise ``ezhengzhao.errors.InputError``; a bad URL or key ``ConfigurationError``.
"""

from __future__ import annotations

from verifier_service.db.apikeys import KEY_ROLES, ApiKey, ApiKeyStore
from verifier_service.db.audit import (
    ACTIONS,
    GENESIS_HASH,
    MAX_QUERY_LIMIT,
    ROLES,
    VERDICTS,
    AuditEntry,
    AuditLog,
    AuditRecord,
    ChainReport,
)
from verifier_service.db.common import StorageConflict, StorageError
from verifier_service.db.engine import (
    Database,
    Transactions,
    default_database_url,
    load_or_create_secret,
    open_database,
)
from verifier_service.db.registry import SqlRegistry
from verifier_service.db.replay import SqlReplayCache

__all__ = [
    "ACTIONS",
    "GENESIS_HASH",
    "KEY_ROLES",
    "MAX_QUERY_LIMIT",
    "ROLES",
    "VERDICTS",
    "ApiKey",
    "ApiKeyStore",
    "AuditEntry",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "Database",
    "SqlRegistry",
    "SqlReplayCache",
    "StorageConflict",
    "StorageError",
    "Transactions",
    "default_database_url",
    "load_or_create_secret",
    "open_database",
]
