"""Reading QR codes from images — 扫码: photos, scans and screenshots to the texts they carry.

An image is untrusted input: its byte size is checked first, then its dimensions from the
header (Pillow opens lazily), and only then are pixels decoded, so a decompression bomb — a
small file that claims a huge canvas — is refused without allocating it. Pillow's own
``Image.MAX_IMAGE_PIXELS`` is a process-wide setting another library may have lifted; the
check here does not depend on it. Only raster formats are opened (PNG, JPEG, WebP, BMP, GIF,
TIFF, PPM), never formats whose plugins call external programs (EPS).

Decoding uses zxing-cpp, QR Code only (other barcodes in the picture are ignored), with
rotation, downscaling and inversion on. When nothing is found, a few cheap clean-ups of a grey
copy are tried in turn, stopping at the first that finds a code: a median filter (speckle and
sensor noise), an enlargement of small pictures (blur, modules of two pixels or less), a
contrast stretch with a global threshold (faint prints), a slight blur (JPEG blocks). A clean
picture costs one pass; a picture without a code costs all five.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from PIL import Image, ImageFilter, ImageOps

from ezhengzhao.errors import ConfigurationError, ImageError, InputError

if TYPE_CHECKING:
    import zxingcpp

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PIXELS", "scan_image", "scan_image_file"]

DEFAULT_MAX_BYTES: Final = 10 * 2**20
DEFAULT_MAX_PIXELS: Final = 40_000_000

# Raster formats a phone, scanner or browser produces. (Phone JPEGs holding several pictures
# open as MPO through the JPEG plugin.)
_FORMATS: Final = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "PPM")
# A picture smaller than this on its longer side is enlarged in the clean-up passes: a code
# photographed from afar has modules of two pixels or less.
_SMALL: Final = 1200


def _require_zxing() -> None:
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        raise ConfigurationError("reading QR codes needs the package zxing-cpp") from None


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """The first frame of ``data`` as a loaded image, after the size checks."""
    if len(data) > max_bytes:
        raise ImageError(
            "image_too_large", f"the image is {len(data)} bytes, more than {max_bytes}"
        )
    if not data:
        raise ImageError("not_an_image", "the image is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError:
        raise ImageError("image_too_large", "the image claims an enormous canvas") from None
    except Exception:
        # Malformed input can make a Pillow plugin raise almost anything; none of it escapes.
        raise ImageError(
            "not_an_image", f"not an image in a supported format ({', '.join(_FORMATS)})"
        ) from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageError(
            "image_too_large",
            f"the image is {width}×{height} pixels, more than {max_pixels:,} in all",
        )
    if width < 1 or height < 1:
        raise ImageError("not_an_image", "the image has no pixels")
    try:
        if image.format == "JPEG" or image.format == "MPO":
            # Decode the luminance only: all the scanner needs, and faster for camera photos.
            image.draft("L", image.size)
        image.load()
    except Image.DecompressionBombError:
        raise ImageError("image_too_large", "the image claims an enormous canvas") from None
    except Exception:
        raise ImageError("not_an_image", "the image data is corrupt or truncated") from None
    # Phones store pictures sideways with an EXIF turn: undo it, for reading order. A broken
    # EXIF block only costs the order (zxing reads any rotation), not the picture.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)
    return image


def _grey(image: Image.Image) -> Image.Image:
    """A mode ``L`` copy, transparent areas made white (a QR on a transparent PNG is
    black modules over transparent black, which would otherwise read as all black)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float pixels: stretch to 8 bits rather than clip at 255.
        image = image.convert("F")
        extrema = image.getextrema()
        low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
        scale = 255 / ((high - low) or 1)
        image = image.point(lambda v: (v - low) * scale).convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image if image.mode == "L" else image.convert("L")


def _read(grey: Image.Image, binarizer: str = "LocalAverage") -> list[zxingcpp.Barcode]:
    import zxingcpp

    return zxingcpp.read_barcodes(
        grey,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        try_rotate=True,
        try_downscale=True,
        try_invert=True,
        # Plain: the bytes as text (per ECI, else the guessed charset), nothing escaped.
        text_mode=zxingcpp.TextMode.Plain,
        binarizer=getattr(zxingcpp.Binarizer, binarizer),
    )


def _contrast(grey: Image.Image) -> list[zxingcpp.Barcode]:
    # A global threshold suits a faint, evenly lit print better than local averaging.
    return _read(ImageOps.autocontrast(grey, cutoff=1), "GlobalHistogram")


def _despeckle(grey: Image.Image) -> list[zxingcpp.Barcode]:
    return _read(grey.filter(ImageFilter.MedianFilter(3)))


def _enlarge(grey: Image.Image) -> list[zxingcpp.Barcode]:
    if max(grey.size) >= _SMALL:
        return []
    factor = 2 if max(grey.size) * 2 >= _SMALL else 3
    size = (grey.width * factor, grey.height * factor)
    return _read(ImageOps.autocontrast(grey.resize(size, Image.Resampling.BICUBIC), cutoff=1))


def _smooth(grey: Image.Image) -> list[zxingcpp.Barcode]:
    return _read(grey.filter(ImageFilter.GaussianBlur(1)))


_PASSES: Final[Sequence[Callable[[Image.Image], list[zxingcpp.Barcode]]]] = (
    _read,
    _despeckle,
    _enlarge,
    _contrast,
    _smooth,
)


def _reading_order(found: list[zxingcpp.Barcode]) -> list[str]:
    """Texts sorted as a reader meets the codes: rows top to bottom, each left to right.

    Two codes share a row when their vertical centres are closer than half the smaller
    code's height.
    """
    boxes = []
    for barcode in found:
        p = barcode.position
        corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        xs = [c.x for c in corners]
        ys = [c.y for c in corners]
        cx, cy = sum(xs) / 4, sum(ys) / 4
        boxes.append((cy, cx, max(ys) - min(ys), barcode.text))
    boxes.sort()
    rows: list[list[tuple[float, float, int, str]]] = []
    for box in boxes:
        if rows:
            last = rows[-1][0]
            if abs(box[0] - last[0]) < min(box[2], last[2]) / 2:
                rows[-1].append(box)
                continue
        rows.append([box])
    return [text for row in rows for _, _, _, text in sorted(row, key=lambda b: b[1])]


def scan_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[str]:
    """Decode every QR code in an image; the texts exactly as encoded, in reading order.

    ``data`` is an encoded picture (PNG, JPEG, WebP, BMP, GIF, TIFF, PPM); only its first
    frame is read, turned upright per its EXIF orientation. Whether a text is a licence code
    is the caller's question: any QR code's text is returned.

    Raises:
        ImageError: ``reason`` ``image_too_large`` (more than ``max_bytes`` bytes, or a canvas
            of more than ``max_pixels`` pixels, refused before it is decoded),
            ``not_an_image`` (unreadable, unsupported or corrupt), or ``no_code_found``.
        InputError: ``data`` is not bytes, or a limit is not a positive integer.
        ConfigurationError: zxing-cpp is not installed.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(f"scan_image takes the image's bytes, not {type(data).__name__}")
    for name, limit in (("max_bytes", max_bytes), ("max_pixels", max_pixels)):
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InputError(f"{name} must be a positive integer")
    _require_zxing()
    grey = _grey(_open(bytes(data), max_bytes, max_pixels))
    for attempt in _PASSES:
        found = [b for b in attempt(grey) if b.valid]
        if found:
            return _reading_order(found)
    raise ImageError("no_code_found", "no QR code was found in the image")


def scan_image_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[str]:
    """:func:`scan_image` on a file; reads at most ``max_bytes`` + 1 bytes of it.

    Raises what :func:`scan_image` raises, and OSError when the file cannot be read.
    """
    with open(path, "rb") as stream:
        data = stream.read(max_bytes + 1) if isinstance(max_bytes, int) else b""
    return scan_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
