"""QR rendering: alphanumeric mode, ECC levels, module and quiet-zone geometry, both backends."""

from __future__ import annotations

import io
import random
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from ezhengzhao.errors import ConfigurationError, InputError
from ezhengzhao.qr import (
    available_backends,
    is_alphanumeric,
    qr_matrix,
    qr_version,
    render_image,
    render_png,
    render_svg,
    scan_image,
)
from ezhengzhao.qr import image as qr_image
from tests.photos import BASE45, fake_payload

BACKENDS = ("zxing", "qrcode")


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_both_backends_are_installed_here() -> None:
    assert available_backends() == BACKENDS


# Capacities in alphanumeric mode (ISO/IEC 18004 Table 7). Byte mode holds far less (17 at
# 1-L, 2953 at 40-L), so these boundaries hold only if the encoder really uses alphanumeric.
CAPACITY = [
    ("L", 25, 1),
    ("L", 26, 2),
    ("M", 20, 1),
    ("M", 21, 2),
    ("Q", 16, 1),
    ("Q", 17, 2),
    ("H", 10, 1),
    ("H", 11, 2),
    ("M", 311, 10),
    ("M", 312, 11),
    ("M", 419, 12),
    ("L", 4296, 40),
    ("M", 3391, 40),
    ("Q", 2420, 40),
    ("H", 1852, 40),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("ecc", "length", "version"), CAPACITY)
def test_alphanumeric_mode_capacity(backend: str, ecc: str, length: int, version: int) -> None:
    text = ("EZZ1:" + BASE45 * 100)[:length]
    assert is_alphanumeric(text)
    matrix = qr_matrix(text, ecc=ecc, backend=backend)
    assert (matrix.version, matrix.size, matrix.ecc) == (version, 17 + 4 * version, ecc)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("ecc", "length"), [("L", 4297), ("M", 3392), ("H", 1853)])
def test_too_long_for_version_40_is_a_clear_error(backend: str, ecc: str, length: int) -> None:
    with pytest.raises(InputError, match="version 40"):
        qr_version("A" * length, ecc, backend=backend)


def test_realistic_payloads_need_the_same_version_with_both_backends() -> None:
    rng = random.Random(7)
    for _ in range(20):
        text = fake_payload(rng)
        versions = {qr_version(text, "M", backend=b) for b in BACKENDS}
        assert len(versions) == 1
        # 200–450 characters at ECC M: versions 8 (221 alphanumeric characters) to 13 (483).
        assert 8 <= versions.pop() <= 13


def test_text_outside_the_alphabet_is_still_encodable() -> None:
    text = "https://example.com/证照?id=1"
    assert not is_alphanumeric(text)
    for backend in BACKENDS:
        assert scan_image(render_png(text, module_px=4, backend=backend)) == [text]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_both_backends_decode_to_the_same_text(backend: str, ecc: str) -> None:
    text = fake_payload(random.Random(ecc), 380)
    assert scan_image(render_png(text, ecc=ecc, module_px=3, backend=backend)) == [text]


def test_hc1_text_round_trips() -> None:
    text = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I7BGT2.0*5"
    assert scan_image(render_png(text, module_px=4)) == [text]


def test_png_geometry_dpi_and_mode() -> None:
    text = fake_payload(random.Random(1), 300)
    matrix = qr_matrix(text)
    png = render_png(text, module_px=5, quiet_zone=4, dpi=600)
    image = _open(png)
    side = (matrix.size + 8) * 5
    assert image.format == "PNG" and image.mode == "1"
    assert image.size == (side, side)
    assert round(image.info["dpi"][0]) == 600
    grey = image.convert("L")
    # The quiet zone is white; the top-left finder pattern starts right after it.
    assert grey.crop((0, 0, side, 20)).getextrema() == (255, 255)
    assert grey.crop((0, 0, 20, side)).getextrema() == (255, 255)
    assert grey.getpixel((20, 20)) == 0
    assert grey.getpixel((19, 19)) == 255
    # Every module is module_px square: the matrix read back at module centres.
    for y in range(matrix.size):
        for x in range(matrix.size):
            dark = grey.getpixel((20 + 5 * x + 2, 20 + 5 * y + 2)) == 0
            assert dark == matrix.is_dark(x, y)


def test_module_size_in_millimetres_at_a_dpi() -> None:
    text = "EZZ1:ABC"
    size = qr_matrix(text).size + 8
    # 0.5 mm at 300 dpi is 5.9 pixels: six.
    assert _open(render_png(text, module_mm=0.5, dpi=300)).size == (size * 6, size * 6)
    # The default is 0.5 mm too.
    assert _open(render_png(text)).size == (size * 6, size * 6)
    assert _open(render_png(text, module_mm=1, dpi=200)).size == (size * 8, size * 8)


def test_greyscale_png_and_quiet_zone() -> None:
    image = _open(render_png("EZZ1:ABC", module_px=2, quiet_zone=0, greyscale=True))
    assert image.mode == "L"
    assert image.size == (qr_matrix("EZZ1:ABC").size * 2,) * 2
    assert image.getpixel((0, 0)) == 0  # no quiet zone: the finder pattern's corner


def test_render_image_matches_png() -> None:
    image = render_image("EZZ1:XYZ", module_px=3)
    assert image.tobytes() == _open(render_png("EZZ1:XYZ", module_px=3)).tobytes()


@pytest.mark.parametrize(
    ("module_px", "quiet_zone", "greyscale"),
    [(1, 0, False), (2, 4, True), (7, 1, False), (9, 3, True), (12, 4, False), (33, 2, False)],
)
def test_png_pixels_are_render_image_pixels(
    module_px: int, quiet_zone: int, greyscale: bool
) -> None:
    """render_png writes its PNG itself; it must hold exactly render_image's pixels."""
    text = fake_payload(random.Random(module_px), 200)
    png = render_png(text, module_px=module_px, quiet_zone=quiet_zone, greyscale=greyscale)
    Image.open(io.BytesIO(png)).verify()  # chunk order and CRCs
    image = _open(png)
    expected = render_image(text, module_px=module_px, quiet_zone=quiet_zone, greyscale=greyscale)
    assert (image.mode, image.size) == (expected.mode, expected.size)
    assert image.tobytes() == expected.tobytes()
    assert scan_image(png) == [text]


def test_rendering_is_deterministic() -> None:
    text = fake_payload(random.Random(3))
    for backend in BACKENDS:
        assert render_png(text, backend=backend) == render_png(text, backend=backend)


def _svg_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    root = ET.fromstring(svg)
    side = int(root.attrib["viewBox"].split()[2])
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    dark = set()
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.attrib["d"]):
        dark |= {(int(x) + i, int(y)) for i in range(int(run))}
    return side, dark


@pytest.mark.parametrize("backend", BACKENDS)
def test_svg_draws_the_matrix_at_its_size_in_mm(backend: str) -> None:
    text = fake_payload(random.Random(4), 250)
    matrix = qr_matrix(text, backend=backend)
    svg = render_svg(text, module_mm=0.4, quiet_zone=4, backend=backend)
    root = ET.fromstring(svg)
    side, dark = _svg_modules(svg)
    assert side == matrix.size + 8
    assert root.attrib["width"] == root.attrib["height"] == f"{side * 0.4:g}mm"
    expected = {
        (x + 4, y + 4)
        for y in range(matrix.size)
        for x in range(matrix.size)
        if matrix.is_dark(x, y)
    }
    assert dark == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "zbar"}, "unknown QR backend"),
        ({"ecc": "X"}, "error-correction level"),
        ({"module_px": 0}, "module_px"),
        ({"module_px": 4, "module_mm": 0.5}, "not both"),
        ({"module_mm": 0.01}, "module_mm"),
        ({"dpi": 10}, "dpi"),
        ({"quiet_zone": -1}, "quiet_zone"),
    ],
)
def test_bad_arguments_are_library_value_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match) as caught:
        render_png("EZZ1:ABC", **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)


def test_empty_text_is_refused() -> None:
    with pytest.raises(InputError):
        render_png("")


def test_default_backend_falls_back_to_qrcode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qr_image, "available_backends", lambda: ("qrcode",))
    text = "EZZ1:FALLBACK"
    assert qr_matrix(text) == qr_matrix(text, backend="qrcode")
    with pytest.raises(ConfigurationError, match="zxing-cpp"):
        render_png(text, backend="zxing")
    monkeypatch.setattr(qr_image, "available_backends", lambda: ())
    with pytest.raises(ConfigurationError, match="no QR encoder"):
        render_png(text)


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_computed_version_matches_both_encoders(ecc: str) -> None:
    """qr_version computes the version from capacities; the encoders agree on text without
    digit runs, and never need more for text with them (numeric segments are denser)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    mixed = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for length in (1, 10, 25, 26, 47, 48, 77, 100, 255, 300, 400, 500, 600, 800, 1000, 1500):
        for alphabet, exact in ((letters, True), (mixed, False)):
            text = (alphabet * 60)[:length]
            computed = qr_image.qr_version(text, ecc)
            for backend in qr_image.available_backends():
                actual = qr_image.qr_matrix(text, ecc=ecc, backend=backend).version
                assert actual == computed if exact else actual <= computed, (length, backend)
