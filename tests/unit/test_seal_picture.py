"""The seal picture (印模): a deterministic transparent PNG of a red round seal."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from ezhengzhao.errors import FontNotFoundError, SealError
from ezhengzhao.sign import picture as picture_module
from ezhengzhao.sign.picture import SEAL_RED, draw_seal_picture, find_cjk_font
from ezhengzhao.sign.ses import OID_SM2_WITH_SM3, SealInfo, make_seal, parse_seal

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
NAME = "杭州市市场监督管理局"


@pytest.fixture(autouse=True)
def _no_font_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EZZ_CJK_FONT", raising=False)


def _open(data: bytes) -> Image.Image:
    """The picture as RGBA pixels (it is stored as a palette PNG with transparency)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    assert img.mode == "P" and "transparency" in img.info
    rgba = img.convert("RGBA")
    rgba.info.update(img.info)
    rgba.format = img.format
    return rgba


def test_png_decodes_with_the_right_size_and_mode() -> None:
    pic = draw_seal_picture(NAME, subtitle="电子印章")
    assert (pic.type, pic.width_mm, pic.height_mm) == ("png", 42, 42)
    img = _open(pic.data)
    assert img.format == "PNG"
    assert img.size == (331, 331)  # 42 mm at the default 200 dpi
    assert round(img.info["dpi"][0]) == 200
    assert len(pic.data) < 12_000  # it travels inside every sealed licence


@pytest.mark.parametrize(("diameter", "dpi", "pixels"), [(38, 150, 224), (58, 600, 1370)])
def test_pixel_size_follows_diameter_and_dpi(diameter: int, dpi: int, pixels: int) -> None:
    pic = draw_seal_picture(NAME, diameter_mm=diameter, dpi=dpi)
    assert _open(pic.data).size == (pixels, pixels)
    assert pic.width_mm == pic.height_mm == diameter


def test_ring_is_red_and_background_transparent() -> None:
    img = _open(draw_seal_picture(NAME, subtitle="证照专用章").data)
    size = img.width
    c = size / 2
    ring_radius = c - (0.4 + 1.3 / 2) / 42 * size  # the middle of the 1.3 mm ring
    on_ring = 0
    for k in range(360):
        a = math.radians(k)
        px = img.getpixel(
            (round(c + ring_radius * math.cos(a)), round(c + ring_radius * math.sin(a)))
        )
        assert isinstance(px, tuple)
        if px[3] > 200 and px[:3] == SEAL_RED:
            on_ring += 1
    assert on_ring >= 350
    for corner in [(0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)]:
        assert img.getpixel(corner) == (*SEAL_RED, 0)
    assert img.getpixel((round(c), round(c))) == (*SEAL_RED, 255)  # the star's centre
    # Every pixel is seal red; only the opacity varies (antialiased edges).
    colours = {
        rgba[:3]
        for _, rgba in img.getcolors(maxcolors=size * size) or []
        if isinstance(rgba, tuple)
    }
    assert colours == {SEAL_RED}


def test_ink_covers_a_plausible_share() -> None:
    img = _open(draw_seal_picture(NAME, subtitle="电子印章").data)
    inked = sum(img.getchannel("A").histogram()[129:])
    share = inked / (img.width * img.height)
    assert 0.08 < share < 0.35


def test_deterministic() -> None:
    a = draw_seal_picture(NAME, subtitle="电子印章")
    b = draw_seal_picture(NAME, subtitle="电子印章")
    assert a.data == b.data
    assert draw_seal_picture("国家市场监督管理总局").data != a.data


def test_long_and_short_names_draw() -> None:
    for name in ["上海市浦东新区市场监督管理局", "公安局", "局"]:
        assert _open(draw_seal_picture(name, subtitle="证照专用章").data).size == (331, 331)


def test_picture_goes_into_a_seal() -> None:
    pic = draw_seal_picture(NAME)
    t = datetime(2025, 1, 1, tzinfo=UTC)
    info = SealInfo(
        es_id="1",
        name=NAME,
        seal_type=1,
        cert_list_type=1,
        certs=(b"cert",),
        cert_digests=(),
        create_date=t,
        valid_start=t,
        valid_end=t,
        picture=pic,
        vendor_id="EZZ",
    )
    seal = make_seal(info, maker_cert=b"m", sign_alg_oid=OID_SM2_WITH_SM3, sign=lambda d: b"s")
    assert parse_seal(seal.der).info.picture == pic


# --- fonts ------------------------------------------------------------------------------------


def test_find_cjk_font_finds_one_with_glyphs() -> None:
    path = find_cjk_font()
    assert path.is_file()
    assert picture_module._has_cjk_glyphs(str(path))


def test_override_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    font = find_cjk_font()
    monkeypatch.setenv("EZZ_CJK_FONT", str(font))
    assert find_cjk_font() == font


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVuSans (fonts-dejavu-core) not installed")
def test_override_without_cjk_glyphs_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EZZ_CJK_FONT", str(DEJAVU))
    with pytest.raises(FontNotFoundError, match="no Chinese glyphs"):
        find_cjk_font()
    with pytest.raises(FontNotFoundError):
        draw_seal_picture(NAME)


def test_override_that_does_not_exist_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EZZ_CJK_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(FontNotFoundError, match="not a font file"):
        find_cjk_font()


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVuSans (fonts-dejavu-core) not installed")
def test_explicit_font_path_without_cjk_is_an_error() -> None:
    with pytest.raises(FontNotFoundError):
        draw_seal_picture(NAME, font_path=DEJAVU)


def test_not_a_font_is_not_a_cjk_font(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    assert not picture_module._has_cjk_glyphs(str(junk))


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVuSans (fonts-dejavu-core) not installed")
def test_fontconfig_answer_without_glyphs_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    cjk = find_cjk_font()
    monkeypatch.setattr(picture_module, "_KNOWN_FONTS", ())
    # fc-match ':lang=zh' answers with a Latin font when nothing better is installed.
    monkeypatch.setattr(picture_module, "_fontconfig_candidates", lambda: [str(DEJAVU), str(cjk)])
    assert find_cjk_font() == cjk


def test_no_font_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(picture_module, "_KNOWN_FONTS", ())
    monkeypatch.setattr(picture_module, "_fontconfig_candidates", lambda: [])
    with pytest.raises(FontNotFoundError, match="fonts-wqy-zenhei"):
        find_cjk_font()


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "at least one character"),
        ({"name": "   "}, "at least one character"),
        ({"name": NAME, "diameter_mm": 5}, "diameter_mm"),
        ({"name": NAME, "dpi": 10_000}, "dpi"),
        ({"name": "市场\U0010fffc局"}, "no glyph"),
        ({"name": NAME, "subtitle": "专用\U0010fffc"}, "no glyph"),
    ],
)
def test_refusals(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SealError, match=match):
        draw_seal_picture(**kwargs)  # type: ignore[arg-type]
