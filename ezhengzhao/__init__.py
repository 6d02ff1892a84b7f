"""ezhengzhao — Chinese electronic licences (电子证照): issue, seal, carry and verify."""

from __future__ import annotations

from ezhengzhao.errors import EzhengzhaoError

__all__ = ["EzhengzhaoError"]
__version__ = "0.1.0"
