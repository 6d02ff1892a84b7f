"""Reading QR codes from degraded photos, and refusing what is not a safe image."""

from __future__ import annotations

import io
import random
import resource
import struct
import zlib
from collections import defaultdict
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from ezhengzhao.errors import ImageError, InputError
from ezhengzhao.qr import render_image, render_png, scan_image, scan_image_file
from tests.photos import degraded_set, fake_payload

Photos = list[tuple[str, bytes, list[str]]]


@pytest.fixture(scope="module")
def photos() -> Photos:
    return degraded_set(n_per_kind=6)


def _scan(data: bytes) -> list[str] | str:
    try:
        return scan_image(data)
    except ImageError as exc:
        return exc.reason


def test_degraded_photos_decode_at_95_percent(photos: Photos) -> None:
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for kind, data, expected in photos:
        if expected:
            tally[kind][0] += _scan(data) == expected
            tally[kind][1] += 1
    for kind, (ok, total) in tally.items():
        print(f"{kind:16} {ok}/{total}")
    ok = sum(t[0] for t in tally.values())
    total = sum(t[1] for t in tally.values())
    print(f"decoded {ok}/{total} = {ok / total:.1%}")
    assert total >= 90
    assert ok / total >= 0.95


def test_every_two_code_photo_returns_both_in_reading_order(photos: Photos) -> None:
    pairs = [(data, expected) for kind, data, expected in photos if kind == "two_codes"]
    assert pairs
    for data, expected in pairs:
        assert scan_image(data) == expected


def test_photos_without_a_code_say_so(photos: Photos) -> None:
    empty = [data for kind, data, _ in photos if kind == "no_code"]
    assert empty
    for data in empty:
        with pytest.raises(ImageError) as caught:
            scan_image(data)
        assert caught.value.reason == "no_code_found"


def test_the_set_is_deterministic() -> None:
    assert degraded_set(1, kinds=("jpeg_q20_40", "two_codes")) == degraded_set(
        1, kinds=("jpeg_q20_40", "two_codes")
    )


# --------------------------------------------------------------------------- hostile input


def _png_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header is patched to claim ``width`` × ``height`` pixels."""
    out = io.BytesIO()
    Image.new("1", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (10_000, 5_000)])
def test_decompression_bomb_is_refused_before_decoding(width: int, height: int) -> None:
    bomb = _png_claiming(width, height)
    assert len(bomb) < 100
    before = _peak_rss_mb()
    with pytest.raises(ImageError) as caught:
        scan_image(bomb)
    assert caught.value.reason == "image_too_large"
    # 10^10 one-bit pixels would be 1.2 GB; nothing of the sort was allocated.
    assert _peak_rss_mb() - before < 50


def test_bomb_is_refused_even_if_pillows_own_limit_is_lifted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageError) as caught:
        scan_image(_png_claiming(60_000, 60_000))
    assert caught.value.reason == "image_too_large"


def test_pixel_and_byte_limits_are_the_callers() -> None:
    png = render_png("EZZ1:LIMITS", module_px=10)
    side = Image.open(io.BytesIO(png)).width
    with pytest.raises(ImageError) as caught:
        scan_image(png, max_pixels=side * side - 1)
    assert caught.value.reason == "image_too_large"
    with pytest.raises(ImageError) as caught:
        scan_image(png, max_bytes=len(png) - 1)
    assert caught.value.reason == "image_too_large"
    assert scan_image(png, max_pixels=side * side, max_bytes=len(png)) == ["EZZ1:LIMITS"]


def test_oversized_input_is_refused_by_its_byte_count_first() -> None:
    with pytest.raises(ImageError) as caught:
        scan_image(random.Random(3).randbytes(1024), max_bytes=1000)
    assert caught.value.reason == "image_too_large"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        random.Random(1).randbytes(4096),
        b"GIF89a" + struct.pack("<HH", 16, 16) + bytes(3) + random.Random(2).randbytes(40),
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # EPS runs Ghostscript
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
    ids=["empty", "random", "broken-gif", "eps", "svg"],
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(ImageError) as caught:
        scan_image(data)
    assert caught.value.reason == "not_an_image"


def test_truncated_image_is_not_an_image() -> None:
    out = io.BytesIO()
    render_image("EZZ1:TRUNCATED", module_px=4, greyscale=True).save(out, "JPEG")
    with pytest.raises(ImageError) as caught:
        scan_image(out.getvalue()[:600])
    assert caught.value.reason == "not_an_image"


def test_bytes_only() -> None:
    with pytest.raises(InputError):
        scan_image("EZZ1:ABC")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        scan_image(b"x", max_pixels=0)


# --------------------------------------------------------------------------- what is read


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "PPM"])
def test_common_formats(fmt: str) -> None:
    text = fake_payload(random.Random(fmt))
    image = render_image(text, module_px=4, greyscale=True).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    assert scan_image(out.getvalue()) == [text]


def test_transparent_background() -> None:
    text = "EZZ1:TRANSPARENT"
    ink = render_image(text, module_px=4, greyscale=True).point(lambda v: 255 - v)
    rgba = Image.new("RGBA", ink.size, (0, 0, 0, 0))
    rgba.putalpha(ink)  # black modules on transparent black
    out = io.BytesIO()
    rgba.save(out, "PNG")
    assert scan_image(out.getvalue()) == [text]


def test_a_qr_that_is_not_a_licence_is_returned_as_text() -> None:
    text = "https://www.gjzwfw.gov.cn/证照?id=42&lang=zh"
    assert scan_image(render_png(text, module_px=4)) == [text]


def _sheet(codes: list[tuple[Image.Image, tuple[int, int]]], size: tuple[int, int]) -> bytes:
    sheet = Image.new("L", size, 255)
    for image, at in codes:
        sheet.paste(image.convert("L"), at)
    out = io.BytesIO()
    sheet.save(out, "PNG")
    return out.getvalue()


def _bitmap(barcode: zxingcpp.Barcode, scale: int) -> Image.Image:
    bitmap = barcode.to_image(scale=scale)
    height, width = bitmap.shape
    return Image.frombytes("L", (width, height), memoryview(bitmap).tobytes())  # type: ignore[arg-type]


def test_other_barcodes_are_ignored() -> None:
    qr = render_image("EZZ1:ONLYQR", module_px=4)
    linear = _bitmap(zxingcpp.create_barcode("ABC-123", zxingcpp.BarcodeFormat.Code128), 3)
    matrix = _bitmap(zxingcpp.create_barcode("DATAMATRIX", zxingcpp.BarcodeFormat.DataMatrix), 6)
    sheet = _sheet([(qr, (20, 20)), (linear, (20, 300)), (matrix, (400, 20))], (800, 500))
    assert scan_image(sheet) == ["EZZ1:ONLYQR"]
    without_qr = _sheet([(linear, (20, 300)), (matrix, (400, 20))], (800, 500))
    with pytest.raises(ImageError) as caught:
        scan_image(without_qr)
    assert caught.value.reason == "no_code_found"


def test_reading_order_is_rows_then_columns() -> None:
    texts = ["EZZ1:A1", "EZZ1:B2", "EZZ1:C3", "EZZ1:D4"]
    codes = [render_image(t, module_px=5) for t in texts]
    w = codes[0].width
    # Row one: A then B, B a little higher; row two: C then D.
    placed = [(codes[0], (10, 40)), (codes[1], (w + 60, 10)), (codes[2], (10, w + 90))]
    placed.append((codes[3], (w + 60, w + 100)))
    assert scan_image(_sheet(placed, (2 * w + 80, 2 * w + 120))) == texts


def test_exif_orientation_is_applied_before_ordering() -> None:
    left, right = render_image("EZZ1:LEFT", module_px=4), render_image("EZZ1:RIGHT", module_px=4)
    w = left.width
    page = Image.new("L", (2 * w + 60, w + 40), 255)
    page.paste(left.convert("L"), (20, 20))
    page.paste(right.convert("L"), (w + 40, 20))
    # Stored turned a quarter anticlockwise, as a phone held sideways writes it; EXIF
    # orientation 6 tells a viewer to turn it back clockwise.
    stored = page.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, exif=exif.tobytes())
    assert scan_image(out.getvalue()) == ["EZZ1:LEFT", "EZZ1:RIGHT"]


def test_scan_image_file(tmp_path: Path) -> None:
    path = tmp_path / "code.png"
    path.write_bytes(render_png("EZZ1:FILE", module_px=4))
    assert scan_image_file(path) == ["EZZ1:FILE"]
    big = tmp_path / "big.png"
    big.write_bytes(random.Random(4).randbytes(2048))
    with pytest.raises(ImageError) as caught:
        scan_image_file(big, max_bytes=1024)
    assert caught.value.reason == "image_too_large"
