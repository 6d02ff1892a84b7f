"""Service settings — 服务配置: read once from ``EZZ_*`` environment variables.

``EZZ_DATA``            the data directory (trust/, status/, rules/, service/); default ./demo
``EZZ_DATABASE_URL``    SQLAlchemy URL of the audit log and keys; default a SQLite file
                        under DATA/service/
``EZZ_REGION``          the verifying 行政区划代码; default the demo manifest's
                        ``verifying_region`` when DATA has one, else none (no region rules)
``EZZ_MAX_BODY_BYTES``  largest JSON request body (default 1 MiB)
``EZZ_MAX_IMAGE_BYTES`` largest uploaded picture (default 8 MiB)
``EZZ_RATE_LIMIT``      requests per minute per API key (default 600; bursts up to that many)
``EZZ_KEY_CACHE_SECONDS`` how long a worker trusts an API key it looked up before looking it
                        up again, so how long a revoked key may still work (default 2;
                        0 looks the key up on every request)
``EZZ_PEERS``           the peer platforms that resolve other regions' 亮证 codes: a JSON
                        object from region code to ``{"url", "key"}`` (the peer's base URL
                        and the API key it gave this service); default none. Parsed and
                        checked at start-up by :mod:`verifier_service.peers`
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ezhengzhao import codes
from ezhengzhao.errors import ConfigurationError

__all__ = ["Settings", "get_settings"]

DEFAULT_MAX_BODY_BYTES: Final = 1 << 20
DEFAULT_MAX_IMAGE_BYTES: Final = 8 << 20
DEFAULT_RATE_LIMIT: Final = 600
DEFAULT_KEY_CACHE_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class Settings:
    """What one service instance runs with; every worker of a deployment shares it."""

    data: Path
    database_url: str
    region: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    rate_limit: int = DEFAULT_RATE_LIMIT
    peers: str = ""
    key_cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS

    def __post_init__(self) -> None:
        if self.region is not None and not codes.is_valid_region_code(self.region):
            raise ConfigurationError(f"EZZ_REGION {self.region!r} is not a valid 行政区划代码")
        for name in ("max_body_bytes", "max_image_bytes", "rate_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer, not {value!r}")
        seconds = self.key_cache_seconds
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= 3600
        ):
            raise ConfigurationError(
                f"key_cache_seconds must be a number of seconds from 0 to 3600, not {seconds!r}"
            )

    @classmethod
    def for_data(
        cls,
        data: str | os.PathLike[str],
        *,
        database_url: str | None = None,
        region: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        peers: str = "",
        key_cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS,
    ) -> Settings:
        """Settings for a data directory, the database and region defaults filled in."""
        from verifier_service.db import default_database_url

        base = Path(data)
        return cls(
            data=base,
            database_url=database_url or default_database_url(base),
            region=region or manifest_region(base),
            max_body_bytes=max_body_bytes,
            max_image_bytes=max_image_bytes,
            rate_limit=rate_limit,
            peers=peers,
            key_cache_seconds=key_cache_seconds,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``EZZ_*`` variables (``os.environ`` unless given)."""
        env = os.environ if environ is None else environ

        def integer(var: str, default: int) -> int:
            text = env.get(var, "").strip()
            if not text:
                return default
            try:
                return int(text)
            except ValueError:
                raise ConfigurationError(f"{var} must be an integer, not {text!r}") from None

        def seconds(var: str, default: float) -> float:
            text = env.get(var, "").strip()
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise ConfigurationError(f"{var} must be a number of seconds, not {text!r}")
            return value

        return cls.for_data(
            env.get("EZZ_DATA") or "demo",
            database_url=env.get("EZZ_DATABASE_URL") or None,
            region=env.get("EZZ_REGION") or None,
            max_body_bytes=integer("EZZ_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            max_image_bytes=integer("EZZ_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES),
            rate_limit=integer("EZZ_RATE_LIMIT", DEFAULT_RATE_LIMIT),
            peers=env.get("EZZ_PEERS", ""),
            key_cache_seconds=seconds("EZZ_KEY_CACHE_SECONDS", DEFAULT_KEY_CACHE_SECONDS),
        )


def manifest_region(data: Path) -> str | None:
    """The ``verifying_region`` of a demo data directory's manifest, if it has one."""
    try:
        value = json.loads((data / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return None
    region = value.get("verifying_region") if isinstance(value, dict) else None
    return region if isinstance(region, str) and codes.is_valid_region_code(region) else None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once (requests read the settings
    the service was built with: ``verifier_service.dependencies.get_settings``)."""
    return Settings.from_env()
