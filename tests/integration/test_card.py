"""The printable licence card: page size, the QR code on it, PDF, Chinese text, long fields."""

from __future__ import annotations

import dataclasses
import io
import random
import re
from pathlib import Path

import pytest
from PIL import Image

from ezhengzhao import card as card_module
from ezhengzhao.card import CARD_SIZES, card_pdf, card_png, render_card
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.errors import FontNotFoundError, InputError
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.qr import scan_image
from ezhengzhao.sign.picture import _missing_glyphs, find_cjk_font
from ezhengzhao.sign.ses import SealPicture
from tests.photos import fake_payload

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
PIXELS = {"A6": (1748, 1240), "A5": (2480, 1748)}  # 148 × 105 and 210 × 148 mm at 300 dpi


@pytest.fixture(scope="module")
def licences(demo_domain) -> dict[str, SealedLicence]:  # type: ignore[no-untyped-def]
    return {
        name: SealedLicence.from_json(data)
        for name, data in demo_domain.documents.items()
        if name.startswith("licences/") and name.endswith(".ezz.json")
    }


def _by_type(licences: dict[str, SealedLicence], type_name: str) -> SealedLicence:
    return next(s for s in licences.values() if s.licence.type_name == type_name)


def _qr_text(seed: object = 0) -> str:
    return fake_payload(random.Random(str(seed)), 380)


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("size", ["A6", "A5"])
def test_png_has_the_page_size_at_300_dpi_and_its_qr_decodes(
    licences: dict[str, SealedLicence], size: str
) -> None:
    text = _qr_text(size)
    data = card_png(_by_type(licences, "营业执照"), qr_text=text, size=size)
    image = _png(data)
    assert image.format == "PNG" and image.mode == "RGB"
    assert image.size == PIXELS[size]
    assert round(image.info["dpi"][0]) == 300
    assert scan_image(data) == [text]


def test_every_demo_licence_renders_with_a_readable_qr(
    licences: dict[str, SealedLicence],
) -> None:
    assert len(licences) >= 9
    for n, sealed in enumerate(licences.values()):
        text = _qr_text(n)
        image = render_card(sealed, qr_text=text)
        assert image.size == PIXELS["A6"]
        assert scan_image(_encode(image)) == [text], sealed.licence.type_name


def test_pdf_is_one_page_of_the_card_size(licences: dict[str, SealedLicence]) -> None:
    text = _qr_text("pdf")
    pdf = card_pdf(_by_type(licences, "食品经营许可证"), qr_text=text)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    assert re.search(rb"/Count\s+1\b", pdf)
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert box is not None
    width_mm, height_mm = (float(v) / 72 * 25.4 for v in box.groups())
    assert (round(width_mm), round(height_mm)) == (148, 105)
    # The page image is a JPEG stream; its QR code still reads.
    start = pdf.index(b"stream", pdf.index(b"/DCTDecode")) + len(b"stream")
    start += 2 if pdf[start : start + 2] == b"\r\n" else 1
    page = pdf[start : pdf.index(b"endstream", start)]
    assert _png(page).size == PIXELS["A6"]
    assert scan_image(page) == [text]


def test_same_licence_same_files(licences: dict[str, SealedLicence]) -> None:
    sealed = _by_type(licences, "结婚证")
    text = _qr_text("same")
    assert card_png(sealed, qr_text=text) == card_png(sealed, qr_text=text)
    assert card_pdf(sealed, qr_text=text) == card_pdf(sealed, qr_text=text)


def test_the_font_has_every_character_the_cards_print(
    licences: dict[str, SealedLicence],
) -> None:
    catalogue = Catalogue.builtin()
    texts = set()
    for sealed in licences.values():
        licence_type = catalogue.get(sealed.licence.type_code)
        texts.add(licence_type.title or licence_type.name)
        texts.update(row.label + row.value for row in card_module._rows(sealed, licence_type))
        texts.update((sealed.licence.issuer.name, sealed.licence.number))
    texts.update(("扫码核验证照标识：证照编号：", "年月日至长期…"))
    chars = "".join(sorted({ch for text in texts for ch in text if not ch.isspace()}))
    assert _missing_glyphs(str(find_cjk_font()), chars) == ()


def test_a_font_without_chinese_is_refused(licences: dict[str, SealedLicence]) -> None:
    if not DEJAVU.is_file():
        pytest.skip(f"{DEJAVU} is not installed")
    with pytest.raises(FontNotFoundError, match="no glyph"):
        render_card(_by_type(licences, "营业执照"), qr_text=_qr_text(), font_path=DEJAVU)


def test_rows_follow_the_catalogue_and_say_changqi(licences: dict[str, SealedLicence]) -> None:
    catalogue = Catalogue.builtin()
    business = _by_type(licences, "营业执照")
    licence_type = catalogue.get(business.licence.type_code)
    rows = card_module._rows(business, licence_type)
    labels = [r.label for r in rows]
    printed = [f.label for f in licence_type.fields if f.label in labels]
    assert printed == [label for label in labels if label in printed]  # catalogue order
    assert "登记机关" not in labels  # shown with the seal instead
    assert rows[-1].label == "有效期限" and rows[-1].value.endswith("至长期")
    assert business.licence.validity.end is None
    assert dict((r.label, r.value) for r in rows)["成立日期"] == "2021年03月15日"
    food = _by_type(licences, "食品经营许可证")
    end = food.licence.validity.end
    assert end is not None
    last = card_module._rows(food, catalogue.get(food.licence.type_code))[-1]
    assert last.value.endswith(f"至{end.year}年{end.month:02d}月{end.day:02d}日")


def _with_scope(sealed: SealedLicence, scope: str) -> SealedLicence:
    licence = sealed.licence
    return SealedLicence(
        dataclasses.replace(licence, surface={**licence.surface, "KZ_JYFW": scope}),
        sealed.ses_signature,
    )


def test_a_very_long_business_scope_is_cut_and_stays_inside(
    licences: dict[str, SealedLicence],
) -> None:
    business = _by_type(licences, "营业执照")
    items = ["技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广", "软件开发"]
    items += ["信息系统集成服务", "数据处理和存储支持服务", "会议及展览服务", "广告设计、代理"]
    scope = ("一般项目：" + "；".join(items * 20))[:1999] + "。"
    text = _qr_text("long")
    short = render_card(business, qr_text=text)
    long = render_card(_with_scope(business, scope), qr_text=text)
    assert long.size == short.size
    assert scan_image(_encode(long)) == [text]
    width, height = long.size
    layout = CARD_SIZES["A6"]
    margin = round(layout.margin_mm / 25.4 * 300)
    # Below the text area and the whole right column, the two cards are identical: the
    # longer text neither ran down over the border nor across into the QR code or seal.
    assert long.crop((0, height - margin, width, height)) == short.crop(
        (0, height - margin, width, height)
    )
    column = round(45 / 25.4 * 300)  # the seal is 42 mm wide
    assert long.crop((width - column, 0, width, height)) == short.crop(
        (width - column, 0, width, height)
    )
    assert long != short


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _seal_red(image: Image.Image) -> int:
    """Pixels of the seal's red (after multiply blending) in the bottom-right quarter."""
    width, height = image.size
    quarter = image.crop((width // 2, height // 2, width, height))
    return sum(
        count
        for count, (r, g, b) in quarter.getcolors(1 << 20) or []
        if r > 150 and g < 90 and b < 90
    )


def test_the_seal_is_stamped_at_its_size_and_an_unreadable_one_is_left_out(
    licences: dict[str, SealedLicence], monkeypatch: pytest.MonkeyPatch
) -> None:
    sealed = _by_type(licences, "教师资格证书")
    stamped = render_card(sealed, qr_text=_qr_text())
    red = _seal_red(stamped)
    # A 42 mm ring, star and name: thousands of red pixels at 300 dpi.
    assert red > 20_000
    monkeypatch.setattr(
        card_module, "_seal_picture", lambda _: SealPicture("ofd", b"not a picture", 40, 40)
    )
    plain = render_card(sealed, qr_text=_qr_text())
    assert _seal_red(plain) < red / 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"size": "A4"}, "card size"), ({"dpi": 50}, "dpi"), ({"qr_text": ""}, "qr_text")],
)
def test_bad_arguments(
    licences: dict[str, SealedLicence], kwargs: dict[str, object], match: str
) -> None:
    args: dict[str, object] = {"qr_text": _qr_text(), **kwargs}
    with pytest.raises(InputError, match=match):
        render_card(_by_type(licences, "营业执照"), **args)  # type: ignore[arg-type]


def test_lower_and_higher_dpi(licences: dict[str, SealedLicence]) -> None:
    sealed = _by_type(licences, "机动车驾驶证")
    text = _qr_text("dpi")
    for dpi, size in ((150, (874, 620)), (600, (3496, 2480))):
        data = card_png(sealed, qr_text=text, dpi=dpi)
        assert _png(data).size == size
        assert scan_image(data, max_pixels=10_000_000) == [text]
