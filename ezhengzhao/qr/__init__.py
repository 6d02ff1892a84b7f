"""QR codes — 二维码: draw a text as a QR image (:mod:`.image`) and read codes back from
photos and scans (:mod:`.scan`).

What the text says (the ``EZZ1:`` payload) is another layer; these modules only carry text.
"""

from __future__ import annotations

from ezhengzhao.qr.image import (
    ALPHANUMERIC,
    BACKENDS,
    DEFAULT_MODULE_MM,
    ECC_LEVELS,
    QrMatrix,
    available_backends,
    is_alphanumeric,
    qr_matrix,
    qr_version,
    render_image,
    render_png,
    render_svg,
)
from ezhengzhao.qr.scan import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    scan_image,
    scan_image_file,
)

__all__ = [
    "ALPHANUMERIC",
    "BACKENDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MODULE_MM",
    "ECC_LEVELS",
    "QrMatrix",
    "available_backends",
    "is_alphanumeric",
    "qr_matrix",
    "qr_version",
    "render_image",
    "render_png",
    "render_svg",
    "scan_image",
    "scan_image_file",
]
