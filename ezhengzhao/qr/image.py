"""QR code images — 二维码图像: a text drawn as a QR symbol, in PNG or SVG.

Two encoders (backends) make the symbol: ``"zxing"`` (zxing-cpp, the default when installed)
and ``"qrcode"`` (pure Python, for platforms without a zxing-cpp wheel). Both choose the
smallest version for the text and the error-correction level asked for, and both put text made
only of the QR alphanumeric alphabet (``0-9 A-Z space $ % * + - . / :``) in alphanumeric mode:
``EZZ1:`` / ``HC1:`` texts are a prefix and base45 (RFC 9285), which is exactly that alphabet,
so they take 5.5 bits a character rather than 8. Other text is still encodable (byte mode), but
the two backends may then pick different modes and versions.

The drawing is ours, not the backend's, so both backends give images of the same geometry:
square modules of a whole number of pixels, a quiet zone counted in modules, the dpi recorded
in the PNG. Print sizes are given as a module size in millimetres at a dpi (0.5 mm at 300 dpi
is 6 pixels); the module is rounded to whole pixels because a scanner reads crisp, equal
modules better than an exact physical size.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass
from typing import Final

from PIL import Image

from ezhengzhao.errors import ConfigurationError, InputError

__all__ = [
    "ALPHANUMERIC",
    "BACKENDS",
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
]

#: Encoders, in order of preference.
BACKENDS: Final = ("zxing", "qrcode")
#: Error-correction levels, recovering about 7 %, 15 %, 25 % and 30 % of the symbol.
ECC_LEVELS: Final = ("L", "M", "Q", "H")
#: The QR alphanumeric-mode alphabet (ISO/IEC 18004 §7.4.4); base45 uses exactly these 45.
ALPHANUMERIC: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
#: Module size when neither ``module_px`` nor ``module_mm`` is given: a size phones read
#: easily from paper.
DEFAULT_MODULE_MM: Final = 0.5

_MAX_MODULE_PX: Final = 64  # a version-40 symbol is then 11,840 pixels wide
_MAX_QUIET_ZONE: Final = 40
_MAX_TEXT: Final = 8000  # far above any version-40 capacity; bounds the encoders' work


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """A QR symbol as modules: ``rows[y][x]`` is 1 for a dark module, 0 for a light one.

    ``size`` is the number of modules on a side (17 + 4 × ``version``), without quiet zone.
    """

    version: int
    ecc: str
    size: int
    rows: tuple[bytes, ...]

    def is_dark(self, x: int, y: int) -> bool:
        return self.rows[y][x] == 1


def is_alphanumeric(text: str) -> bool:
    """Whether ``text`` uses only the QR alphanumeric alphabet (so encodes in that mode)."""
    return ALPHANUMERIC.issuperset(text)


@functools.cache
def available_backends() -> tuple[str, ...]:
    """The backends that can be imported here, in order of preference."""
    found = []
    for name in BACKENDS:
        try:
            if name == "zxing":
                import zxingcpp  # noqa: F401
            else:
                import qrcode  # noqa: F401
        except ImportError:
            continue
        found.append(name)
    return tuple(found)


def _backend(name: str | None) -> str:
    if name is None:
        found = available_backends()
        if not found:
            raise ConfigurationError("no QR encoder: install zxing-cpp or qrcode")
        return found[0]
    if name not in BACKENDS:
        raise InputError(f"unknown QR backend {name!r}; expected one of {', '.join(BACKENDS)}")
    if name not in available_backends():
        package = "zxing-cpp" if name == "zxing" else "qrcode"
        raise ConfigurationError(f"the QR backend {name!r} needs the package {package}")
    return name


def _check_text(text: str, ecc: str) -> None:
    if not isinstance(text, str) or not text:
        raise InputError("the QR text must be a non-empty string")
    if ecc not in ECC_LEVELS:
        raise InputError(f"unknown error-correction level {ecc!r}; expected L, M, Q or H")
    if len(text) > _MAX_TEXT:
        raise InputError(_too_long(text, ecc))


def _too_long(text: str, ecc: str) -> str:
    mode = "alphanumeric" if is_alphanumeric(text) else "byte"
    return (
        f"the text is {len(text)} characters ({mode} mode) and does not fit a QR code of "
        f"version 40 at error-correction level {ecc}"
    )


def _matrix_zxing(text: str, ecc: str) -> QrMatrix:
    import zxingcpp

    try:
        barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ecc)
        bitmap = barcode.to_image(scale=1, add_quiet_zones=False)
    except ValueError:
        # zint's only failure for a valid level is "input too long".
        raise InputError(_too_long(text, ecc)) from None
    height, width = bitmap.shape
    raw = memoryview(bitmap).tobytes()  # type: ignore[arg-type]  # the stub omits __buffer__
    modules = raw.translate(_GREY_TO_MODULE)
    rows = tuple(modules[y * width : (y + 1) * width] for y in range(height))
    return _checked(rows, ecc)


# zxing-cpp's bitmap is 8-bit grey, 0 for dark modules and 255 for light ones.
_GREY_TO_MODULE: Final = bytes(1 if v < 128 else 0 for v in range(256))
# And back: a module (1 dark, 0 light) as a grey pixel.
_MODULE_TO_GREY: Final = bytes(0 if v else 255 for v in range(256))


def _matrix_qrcode(text: str, ecc: str) -> QrMatrix:
    import qrcode
    from qrcode.exceptions import DataOverflowError

    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(error_correction=levels[ecc], border=0)
    try:
        # add_data picks alphanumeric mode for such text (and numeric mode for long digit
        # runs); make(fit=True) then takes the smallest version that holds it.
        code.add_data(text)
        code.make(fit=True)
    except (DataOverflowError, ValueError):
        # qrcode reports a text beyond version 40 as "Invalid version (was 41 …)".
        raise InputError(_too_long(text, ecc)) from None
    rows = tuple(bytes(1 if cell else 0 for cell in row) for row in code.get_matrix())
    return _checked(rows, ecc)


def _checked(rows: tuple[bytes, ...], ecc: str) -> QrMatrix:
    size = len(rows)
    if size < 21 or (size - 17) % 4 or any(len(row) != size for row in rows):
        raise ConfigurationError(f"the QR encoder returned a {size}-module matrix")
    return QrMatrix(version=(size - 17) // 4, ecc=ecc, size=size, rows=rows)


@functools.lru_cache(maxsize=64)
def _matrix(text: str, ecc: str, backend: str) -> QrMatrix:
    if backend == "zxing":
        return _matrix_zxing(text, ecc)
    return _matrix_qrcode(text, ecc)


def qr_matrix(text: str, *, ecc: str = "M", backend: str | None = None) -> QrMatrix:
    """Encode ``text`` as a QR symbol at error-correction level ``ecc`` (L, M, Q or H).

    ``backend`` is ``"zxing"`` or ``"qrcode"``; ``None`` takes the first one installed.

    Raises:
        InputError: empty text, an unknown level or backend, or a text too long for
            version 40 at that level.
        ConfigurationError: the backend asked for is not installed.
    """
    _check_text(text, ecc)
    return _matrix(text, ecc, _backend(backend))


def qr_version(text: str, ecc: str = "M", *, backend: str | None = None) -> int:
    """The QR version (1–40) that ``text`` needs at level ``ecc``.

    For alphanumeric text (all ``EZZ1:`` payloads) it is computed from the symbol capacities
    without encoding (an issuer checks every code's size before it renders it): the version
    a single alphanumeric segment needs. Encoders that switch to numeric mode for runs of
    digits may fit such a text in the same or a smaller version, never a larger one, so as a
    size limit it errs on the safe side. Raises InputError for a text too long for version 40.
    """
    if backend is None and text and is_alphanumeric(text):
        _check_text(text, ecc)
        version = _alphanumeric_version(len(text), ecc)
        if version is None:
            raise InputError(_too_long(text, ecc))
        return version
    return qr_matrix(text, ecc=ecc, backend=backend).version


@functools.lru_cache(maxsize=1024)
def _alphanumeric_version(length: int, ecc: str) -> int | None:
    """The smallest version whose data capacity holds ``length`` alphanumeric characters.

    Bits needed (ISO/IEC 18004 §7.4.4): 4 for the mode, the character count (9, 11 or 13
    bits by version range), 11 per pair of characters and 6 for an odd last one. The data
    capacity of each version and level is the qrcode package's table of the standard.
    """
    import qrcode.constants
    import qrcode.util

    level = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }[ecc]
    capacity = qrcode.util.BIT_LIMIT_TABLE[level]
    for version in range(1, 41):
        count_bits = 9 if version <= 9 else 11 if version <= 26 else 13
        needed = 4 + count_bits + 11 * (length // 2) + 6 * (length % 2)
        if needed <= capacity[version]:
            return version
    return None


def _module_px(module_px: int | None, module_mm: float | None, dpi: int) -> int:
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 36 <= dpi <= 2400:
        raise InputError(f"dpi must be an integer from 36 to 2400, got {dpi!r}")
    if module_px is not None and module_mm is not None:
        raise InputError("give the module size in pixels or in millimetres, not both")
    if module_px is not None:
        if (
            not isinstance(module_px, int)
            or isinstance(module_px, bool)
            or not 1 <= module_px <= _MAX_MODULE_PX
        ):
            raise InputError(f"module_px must be an integer from 1 to {_MAX_MODULE_PX}")
        return module_px
    mm = DEFAULT_MODULE_MM if module_mm is None else module_mm
    if isinstance(mm, bool) or not isinstance(mm, int | float) or not 0.05 <= mm <= 10:
        raise InputError(f"module_mm must be a number from 0.05 to 10, got {module_mm!r}")
    px = round(mm / 25.4 * dpi)
    if not 1 <= px <= _MAX_MODULE_PX:
        raise InputError(
            f"{mm} mm at {dpi} dpi is {mm / 25.4 * dpi:.2f} pixels a module; "
            f"it must round to 1 to {_MAX_MODULE_PX} pixels"
        )
    return px


def _quiet(quiet_zone: int) -> int:
    if (
        not isinstance(quiet_zone, int)
        or isinstance(quiet_zone, bool)
        or not 0 <= quiet_zone <= _MAX_QUIET_ZONE
    ):
        raise InputError(f"quiet_zone must be an integer from 0 to {_MAX_QUIET_ZONE} modules")
    return quiet_zone


def _symbol(matrix: QrMatrix, quiet_zone: int) -> Image.Image:
    """The symbol and its quiet zone at one pixel a module, mode ``L``, black on white."""
    side = matrix.size + 2 * quiet_zone
    light = bytes([255]) * quiet_zone
    to_grey = _MODULE_TO_GREY
    blank = bytes([255]) * side
    rows = [blank] * quiet_zone
    rows += [light + row.translate(to_grey) + light for row in matrix.rows]
    rows += [blank] * quiet_zone
    return Image.frombytes("L", (side, side), b"".join(rows))


def _draw(matrix: QrMatrix, module_px: int, quiet_zone: int, mode: str) -> Image.Image:
    """The symbol as a mode ``1`` or ``L`` image, black on white."""
    small = _symbol(matrix, quiet_zone)
    side = small.width
    # Nearest-neighbour at a whole factor keeps every module exactly module_px square.
    image = small.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)
    return image.convert("1", dither=Image.Dither.NONE) if mode == "1" else image


def render_image(
    text: str,
    *,
    ecc: str = "M",
    module_mm: float | None = None,
    dpi: int = 300,
    module_px: int | None = None,
    quiet_zone: int = 4,
    backend: str | None = None,
    greyscale: bool = False,
) -> Image.Image:
    """The QR symbol of ``text`` as a Pillow image (mode ``1``, or ``L`` if ``greyscale``).

    Arguments are those of :func:`render_png`; ``info["dpi"]`` holds the dpi.
    """
    px = _module_px(module_px, module_mm, dpi)
    zone = _quiet(quiet_zone)
    image = _draw(qr_matrix(text, ecc=ecc, backend=backend), px, zone, "L" if greyscale else "1")
    image.info["dpi"] = (dpi, dpi)
    return image


def render_png(
    text: str,
    *,
    ecc: str = "M",
    module_mm: float | None = None,
    dpi: int = 300,
    module_px: int | None = None,
    quiet_zone: int = 4,
    backend: str | None = None,
    greyscale: bool = False,
) -> bytes:
    """Draw ``text`` as a QR code and return a PNG (1-bit, or 8-bit grey if ``greyscale``).

    The pixels are those of :func:`render_image` with the same arguments.

    Args:
        text: what the code says; ``EZZ1:`` texts go in alphanumeric mode.
        ecc: error-correction level, ``L``, ``M`` (default), ``Q`` or ``H``.
        module_mm: module size in millimetres at ``dpi``, rounded to whole pixels; the default
            when neither size is given is :data:`DEFAULT_MODULE_MM`.
        dpi: resolution recorded in the PNG (``pHYs``), and used with ``module_mm``.
        module_px: module size in pixels (1–64), instead of ``module_mm``.
        quiet_zone: the light margin, in modules (the standard asks for 4).
        backend: ``"zxing"``, ``"qrcode"``, or ``None`` for the first one installed.
        greyscale: write an 8-bit grey PNG instead of a 1-bit one.

    Raises:
        InputError: a bad argument, or a text too long for version 40 at ``ecc``.
        ConfigurationError: the backend asked for is not installed.
    """
    px = _module_px(module_px, module_mm, dpi)
    zone = _quiet(quiet_zone)
    matrix = qr_matrix(text, ecc=ecc, backend=backend)
    return _png(matrix, px, zone, dpi, greyscale)


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_FILTER_NONE: Final = b"\x00"
_PNG_FILTER_UP: Final = b"\x02"
# zlib levels, measured on EZZ1: codes against Pillow's writer at its default level (6): a
# 1-bit image with modules of up to 8 pixels comes out about as small at level 3 (17 % smaller
# to 12 % larger by module size, about 1.1 kB at 4 pixels) in 40 % of the time of level 6;
# larger modules (long runs of zero rows) and grey images need level 6 to stay as small.
_PNG_FAST_LEVEL: Final = 3
_PNG_FAST_MAX_MODULE_PX: Final = 8
_PNG_LEVEL: Final = 6


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(matrix: QrMatrix, module_px: int, quiet_zone: int, dpi: int, greyscale: bool) -> bytes:
    """The PNG of :func:`_draw`'s image, written straight from the rows of modules.

    Why not Pillow's PNG writer: it packs and filters each of the module_px × side pixel rows
    and tries five filters on every one, which costs more than encoding the symbol. Here each
    row of modules is widened and packed once, and the module_px − 1 identical pixel rows
    below it are written with the PNG ``Up`` filter (ISO/IEC 15948 §9.2), which turns them
    into zero bytes.
    """
    small = _symbol(matrix, quiet_zone)
    side = small.width
    width = side * module_px
    # One pixel row per row of modules, each module widened to module_px pixels; mode "1"
    # packs them 8 a byte, light = 1, as a 1-bit grey PNG stores them.
    rows = small.resize((width, side), Image.Resampling.NEAREST)
    if not greyscale:
        rows = rows.convert("1", dither=Image.Dither.NONE)
    packed = rows.tobytes()
    stride = len(packed) // side
    repeats = (_PNG_FILTER_UP + bytes(stride)) * (module_px - 1)
    scanlines = b"".join(
        _PNG_FILTER_NONE + packed[y * stride : (y + 1) * stride] + repeats for y in range(side)
    )
    header = struct.pack(">IIBBBBB", width, width, 8 if greyscale else 1, 0, 0, 0, 0)
    fast = not greyscale and module_px <= _PNG_FAST_MAX_MODULE_PX
    level = _PNG_FAST_LEVEL if fast else _PNG_LEVEL
    # Pillow's rounding of dots per inch to pixels per metre, so the dpi reads back the same.
    per_metre = int(dpi / 0.0254 + 0.5)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _png_chunk(b"IDAT", zlib.compress(scanlines, level)),
            _png_chunk(b"IEND", b""),
        )
    )


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def render_svg(
    text: str,
    *,
    ecc: str = "M",
    quiet_zone: int = 4,
    module_mm: float = DEFAULT_MODULE_MM,
    backend: str | None = None,
) -> str:
    """Draw ``text`` as a QR code in SVG: one path of dark modules on a white square.

    The user unit is one module; ``width`` and ``height`` are in millimetres, so the code
    prints at ``module_mm`` a module. Raises as :func:`render_png` does.
    """
    if isinstance(module_mm, bool) or not isinstance(module_mm, int | float):
        raise InputError(f"module_mm must be a number, got {module_mm!r}")
    if not 0.05 <= module_mm <= 10:
        raise InputError(f"module_mm must be from 0.05 to 10, got {module_mm!r}")
    zone = _quiet(quiet_zone)
    matrix = qr_matrix(text, ecc=ecc, backend=backend)
    side = matrix.size + 2 * zone
    parts = []
    # One horizontal run of dark modules per sub-path keeps the file small.
    for y, row in enumerate(matrix.rows):
        x = 0
        while x < matrix.size:
            if row[x]:
                start = x
                while x < matrix.size and row[x]:
                    x += 1
                parts.append(f"M{start + zone} {y + zone}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    size_mm = _fmt(side * module_mm)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{size_mm}mm" '
        f'height="{size_mm}mm" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">\n'
        f'<rect width="{side}" height="{side}" fill="#fff"/>\n'
        f'<path fill="#000" d="{"".join(parts)}"/>\n'
        "</svg>\n"
    )
