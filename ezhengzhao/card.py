"""The printable licence card — 证照打印件: a sealed licence drawn as a page to print or show.

The layout follows Chinese licence certificates such as 营业执照 and 食品经营许可证 (the
national emblem left out): a traditional 回纹 border in a warm brown on off-white paper with a
faint guilloche, the title in large characters (a leading 中华人民共和国 on a smaller line of
its own), the 证照编号, the surface fields (照面信息) in catalogue order with their Chinese
labels justified as on printed forms, the validity (长期 when open-ended), the QR code with
its caption at the top right, and at the bottom right the issuing authority and the issue
date under the seal picture, at its real size, blended like stamped ink.

Text never overflows: the fields shrink together; many short fields (出生医学证明) go into two
columns; long values (经营范围) shrink alone; what still does not fit is cut with an ellipsis.
Rendering is not verification: the card shows what the document says; only
``Verifier.verify`` says whether to believe it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Final

from PIL import Image, ImageChops, ImageDraw, ImageFont

from ezhengzhao.catalogue import Catalogue, FieldType, LicenceType
from ezhengzhao.errors import FontNotFoundError, InputError
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.qr.image import qr_matrix, render_image
from ezhengzhao.sign.picture import FONT_ENV_VAR, _missing_glyphs, find_cjk_font
from ezhengzhao.sign.ses import SealPicture, parse_ses_signature

__all__ = ["CARD_SIZES", "CardSize", "card_pdf", "card_png", "render_card"]


@dataclass(frozen=True, slots=True)
class CardSize:
    """A page size, landscape, and the proportions of the card drawn on it (millimetres)."""

    name: str
    width_mm: float
    height_mm: float
    border_mm: float  # from the paper's edge to the 回纹 band
    band_mm: float  # width of the 回纹 band
    margin_mm: float  # from the paper's edge to the text
    title_mm: float  # title character size, largest
    body_mm: float  # field text size, largest
    body_min_mm: float  # field text size, smallest before values are cut
    qr_mm: float  # the QR code's side, largest (modules are whole pixels, so a little less)
    caption_mm: float


#: The sizes a card can be drawn at: ISO A6 and A5, landscape.
CARD_SIZES: Final[Mapping[str, CardSize]] = MappingProxyType(
    {
        "A6": CardSize("A6", 148, 105, 3.0, 2.4, 8.5, 7.5, 3.0, 1.9, 33, 1.8),
        "A5": CardSize("A5", 210, 148, 4.0, 3.4, 12.0, 11.0, 4.2, 2.6, 37, 2.4),
    }
)

_PAPER: Final = (252, 250, 243)
_INK: Final = (24, 24, 24)
_LABEL_INK: Final = (52, 44, 36)
_BORDER: Final = (168, 120, 58)
_GUILLOCHE: Final = (238, 228, 206)
_QUIET_INK: Final = (96, 96, 96)

_SEAL_OPACITY: Final = 0.93
_MAX_SEAL_PIXELS: Final = 16_000_000
_MAX_DPI: Final = 1200
_LINE: Final = 1.42  # line height, in font sizes
_ROW_GAP: Final = 0.22  # extra space between fields, in font sizes
_LABEL_EMS: Final = 5  # the label column: five characters, as on 营业执照
_COMFORT: Final = 0.8  # all fields shrink together to this share of body_mm, then long ones alone
_COLUMN_GAP: Final = 2.0  # between two columns of fields, in font sizes
_MAX_ROW_GAP: Final = 0.9  # rows are spread apart up to this, in font sizes, when room is left
# Authority fields repeat what the issuer block under the seal says.
_AUTHORITY_LABELS: Final = frozenset(
    {"发证机关", "登记机关", "颁发机关", "核发机关", "登记机构", "发证机构"}
)
# Characters that must not begin a line (行首禁则).
_NO_LINE_START: Final = frozenset("，。、；：？！）」』》〉】〕”’,.;:?!)]}%…·")
_PRC: Final = "中华人民共和国"


# --------------------------------------------------------------------------- text


class _Fonts:
    """One font file at the sizes the card needs, loaded once each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: dict[int, ImageFont.FreeTypeFont] = {}

    def get(self, px: float) -> ImageFont.FreeTypeFont:
        size = max(4, round(px))
        font = self._cache.get(size)
        if font is None:
            # BASIC layout: no shaping library whose version would move pixels.
            font = ImageFont.truetype(
                str(self.path), size, index=0, layout_engine=ImageFont.Layout.BASIC
            )
            self._cache[size] = font
        return font


def _tokens(text: str) -> Iterator[str]:
    """Break opportunities: each CJK character alone; ASCII runs kept whole, but split after
    ``.``, ``/`` and ``-`` so that identifiers wrap at their separators."""
    run = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            run += ch
            if ch in "./-":
                yield run
                run = ""
            continue
        if run:
            yield run
            run = ""
        yield ch
    if run:
        yield run


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy line breaking within ``width`` pixels, keeping closing punctuation off a line's
    start; words longer than a line are broken between characters."""
    measure = _measurer(font)
    lines: list[str] = []
    line, used = "", 0.0
    for token in _tokens(text):
        pieces = list(token) if measure(token) > width else [token]
        for piece in pieces:
            if not line and piece.isspace():
                continue
            size = measure(piece)
            if used + size <= width or not line:
                line, used = line + piece, used + size
                continue
            if piece[0] in _NO_LINE_START and len(line) > 1:
                # Carry the last character down with the punctuation mark.
                lines.append(line[:-1])
                line = line[-1] + piece
            else:
                lines.append(line.rstrip())
                line = piece.lstrip()
            used = measure(line)
    if line:
        lines.append(line)
    return _exact(lines or [""], font, width)


def _exact(lines: list[str], font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Lines measured whole: kerning can make a line a little wider than its pieces, and then
    its last characters move down."""
    out: list[str] = []
    carry = ""
    for line in lines:
        line = carry + line
        carry = ""
        while len(line) > 1 and font.getlength(line) > width:
            carry = line[-1] + carry
            line = line[:-1]
        out.append(line)
    while carry:
        line = carry
        carry = ""
        while len(line) > 1 and font.getlength(line) > width:
            carry = line[-1] + carry
            line = line[:-1]
        out.append(line)
    return out


_WIDTHS: dict[tuple[str, int, str], float] = {}


def _measurer(font: ImageFont.FreeTypeFont) -> Callable[[str], float]:
    """Width of a piece of text in ``font``, remembered: the fitting loop measures the same
    characters at the same sizes many times."""
    key = (str(font.path), int(font.size))

    def measure(text: str) -> float:
        found = _WIDTHS.get((*key, text))
        if found is None:
            if len(_WIDTHS) > 50_000:
                _WIDTHS.clear()
            found = _WIDTHS[(*key, text)] = font.getlength(text)
        return found

    return measure


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``line`` shortened until it and a trailing ``…`` fit ``width``."""
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    value: str


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _rows(sealed: SealedLicence, licence_type: LicenceType) -> list[_Row]:
    """The fields printed in the table: holder first unless a field names it, the surface
    fields in catalogue order, and the validity."""
    licence = sealed.licence
    rows: list[_Row] = []
    values: set[str] = set()
    for field in licence_type.fields:
        raw = licence.surface.get(field.key)
        if raw is None or raw == "":
            continue
        text = str(raw)
        values.add(text)
        if field.type == FieldType.DATE:
            with contextlib.suppress(ValueError):  # not a date after all: printed as written
                text = _cn_date(date.fromisoformat(text))
        label = field.label
        if label in _AUTHORITY_LABELS and text == licence.issuer.name:
            continue  # the issuer block under the seal says it
        rows.append(_Row(label, text))
    head = []
    if licence.holder.name not in values:
        head.append(_Row("持证主体", licence.holder.name))
    if licence.holder.code not in values:
        kind = "公民身份号码" if licence.holder.is_person else "统一社会信用代码"
        head.append(_Row(kind, licence.holder.code))
    start = _cn_date(licence.validity.start)
    end = "长期" if licence.validity.end is None else _cn_date(licence.validity.end)
    return [*head, *rows, _Row("有效期限", f"{start}至{end}")]


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class _Placed:
    """A row laid out: its lines and the font size (px) they are set in."""

    row: _Row
    lines: tuple[str, ...]
    size: float


@dataclass(frozen=True, slots=True)
class _Layout:
    """The table as drawn: base font size, label column width, and the rows of each column."""

    size: float
    label_width: float
    column_width: float
    columns: tuple[tuple[_Placed, ...], ...]


class _Table:
    """Fits the rows into a box.

    In one column: all rows shrink together to a comfortable size, then long values alone to
    the smallest size, then what does not fit is cut with ``…``. Many short rows (出生医学证明)
    go into two columns instead when that lets them be set larger.
    """

    def __init__(
        self, fonts: _Fonts, rows: Sequence[_Row], width: float, height: float, px_mm: float
    ) -> None:
        self.fonts = fonts
        self.rows = rows
        self.width = width
        self.height = height
        self.px_mm = px_mm

    def label_width(self, size: float) -> float:
        font = self.fonts.get(size)
        widest = max((font.getlength(r.label) for r in self.rows), default=0.0)
        return min(widest, _LABEL_EMS * size)

    def column_width(self, size: float, columns: int) -> float:
        return (self.width - (columns - 1) * _COLUMN_GAP * size) / columns

    def value_width(self, size: float, columns: int) -> float:
        return self.column_width(size, columns) - self.label_width(size) - 1.0 * size

    def place(
        self, size: float, columns: int, sizes: Sequence[float] | None = None
    ) -> list[_Placed]:
        width = self.value_width(size, columns)
        placed = []
        for i, row in enumerate(self.rows):
            own = size if sizes is None else sizes[i]
            lines = tuple(_wrap(row.value, self.fonts.get(own), width))
            placed.append(_Placed(row, lines, own))
        return placed

    @staticmethod
    def height_of(placed: Sequence[_Placed], size: float) -> float:
        lines = sum(len(p.lines) * p.size * _LINE for p in placed)
        return lines + _ROW_GAP * size * max(0, len(placed) - 1)

    def split(self, placed: list[_Placed], size: float, columns: int) -> list[list[_Placed]]:
        """Rows in order over ``columns`` columns, the tallest column as short as can be."""
        if columns == 1 or len(placed) < 2:
            return [placed]
        best = min(
            range(1, len(placed)),
            key=lambda k: max(self.height_of(placed[:k], size), self.height_of(placed[k:], size)),
        )
        return [placed[:best], placed[best:]]

    def layout(self, size: float, columns: int, split: list[list[_Placed]]) -> _Layout:
        return _Layout(
            size,
            self.label_width(size),
            self.column_width(size, columns),
            tuple(tuple(c) for c in split),
        )

    def fits(self, split: list[list[_Placed]], size: float) -> bool:
        return all(self.height_of(column, size) <= self.height for column in split)

    def fit(self, body_mm: float, body_min_mm: float) -> _Layout:
        biggest = body_mm * self.px_mm
        smallest = body_min_mm * self.px_mm
        comfortable = max(smallest, biggest * _COMFORT)
        steps = 12
        # 1. Every field together in one column, from the largest size to the comfortable one.
        for k in range(steps + 1):
            size = biggest - (biggest - comfortable) * k / steps
            placed = self.place(size, 1)
            if self.fits([placed], size):
                return self.layout(size, 1, [placed])
        two = self.two_columns(biggest, smallest, steps)
        # 2. Long values (three lines or more) alone, down to the smallest size.
        size = comfortable
        placed = self.place(size, 1)
        long_rows = {i for i, p in enumerate(placed) if len(p.lines) >= 3}
        for k in range(1, steps + 1):
            own = comfortable - (comfortable - smallest) * k / steps
            sizes = [own if i in long_rows else size for i in range(len(self.rows))]
            placed = self.place(size, 1, sizes)
            if self.fits([placed], size):
                return self.layout(size, 1, [placed])
        # 3. Everything at the smallest size, unless two columns allow a larger one; what
        # still does not fit is cut.
        if two is not None:
            return two
        size = smallest
        placed = self.place(size, 1)
        if not self.fits([placed], size):
            placed = self.cut(placed, size)
        return self.layout(size, 1, [placed])

    def two_columns(self, biggest: float, smallest: float, steps: int) -> _Layout | None:
        """Two columns of one-line rows, at the largest size they fit; None if they do not."""
        for k in range(steps + 1):
            size = biggest - (biggest - smallest) * k / steps
            placed = self.place(size, 2)
            if any(len(p.lines) > 1 for p in placed):
                continue
            split = self.split(placed, size, 2)
            if self.fits(split, size):
                return self.layout(size, 2, split)
        return None

    def cut(self, placed: list[_Placed], size: float) -> list[_Placed]:
        line = size * _LINE
        gap = _ROW_GAP * size
        # Rows that fit with one line each; the last of them ends in "…" if any are dropped.
        count = max(1, min(len(placed), int((self.height + gap) // (line + gap))))
        kept = placed[:count]
        spare = int((self.height - count * line - (count - 1) * gap) // line)
        font = self.fonts.get(size)
        width = self.value_width(size, 1)
        out = []
        for i, p in enumerate(kept):
            extra = min(len(p.lines) - 1, max(0, spare))
            spare -= extra
            lines = list(p.lines[: 1 + extra])
            if len(lines) < len(p.lines) or (i == count - 1 and count < len(placed)):
                lines[-1] = _ellipsize(lines[-1], font, width)
            out.append(_Placed(p.row, tuple(lines), size))
        return out


# --------------------------------------------------------------------------- drawing


class _Blank:
    """A card being drawn: the page image and millimetre arithmetic."""

    def __init__(self, size: CardSize, dpi: int) -> None:
        self.size = size
        self.dpi = dpi
        self.px_mm = dpi / 25.4
        self.image = Image.new("RGB", (self.px(size.width_mm), self.px(size.height_mm)), _PAPER)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, mm: float) -> int:
        return round(mm * self.px_mm)

    def guilloche(self, box: tuple[float, float, float, float]) -> None:
        """Faint interlaced waves, the security background of printed certificates."""
        left, top, right, bottom = box
        step = max(2, self.px(0.6))
        width = max(1, self.px(0.08))
        spacing = self.px(2.2)
        amplitude = self.px(1.6)
        for family, period_mm in ((0, 18.0), (1, 23.0)):
            period = self.px(period_mm)
            y = top - amplitude
            k = 0
            while y < bottom + amplitude:
                phase = k * 0.55 + family * math.pi
                points = [
                    (
                        min(float(x), right),
                        min(
                            max(
                                y + amplitude * math.sin(2 * math.pi * (x - left) / period + phase),
                                top,
                            ),
                            bottom,
                        ),
                    )
                    for x in range(round(left), round(right) + step, step)
                ]
                self.draw.line(points, fill=_GUILLOCHE, width=width)
                y += spacing
                k += 1

    def border(self) -> None:
        """A 回纹 (key-pattern) band between two rules, a 回 square at each corner."""
        s = self.size
        u = self.px(s.band_mm)
        outer = self.px(s.border_mm)
        width, height = self.image.size
        line = max(1, self.px(0.22))
        heavy = max(2, self.px(0.55))
        x0, y0, x1, y1 = outer, outer, width - outer, height - outer
        self.draw.rectangle((x0, y0, x1, y1), outline=_BORDER, width=heavy)
        inner = (x0 + u + heavy, y0 + u + heavy, x1 - u - heavy, y1 - u - heavy)
        self.draw.rectangle(inner, outline=_BORDER, width=line)
        pad = heavy + line  # the band between the two rules
        bx0, by0, bx1, by1 = x0 + pad, y0 + pad, x1 - pad, y1 - pad
        cell = u - line * 2
        # Corner squares.
        for cx, cy in ((bx0, by0), (bx1 - cell, by0), (bx1 - cell, by1 - cell), (bx0, by1 - cell)):
            self.draw.rectangle((cx, cy, cx + cell, cy + cell), outline=_BORDER, width=line)
            q = cell / 3
            self.draw.rectangle((cx + q, cy + q, cx + cell - q, cy + cell - q), fill=_BORDER)
        # Key pattern along each side, between the corner squares: (start, along, inward).
        sides = (
            ((bx0 + cell, by0), (1, 0), (0, 1), bx1 - bx0 - 2 * cell),
            ((bx1, by0 + cell), (0, 1), (-1, 0), by1 - by0 - 2 * cell),
            ((bx1 - cell, by1), (-1, 0), (0, -1), bx1 - bx0 - 2 * cell),
            ((bx0, by1 - cell), (0, -1), (1, 0), by1 - by0 - 2 * cell),
        )
        # One key in unit cell coordinates: x along the side, y from the outer edge inwards.
        key = ((0.12, 0.92), (0.12, 0.08), (0.88, 0.08), (0.88, 0.7), (0.42, 0.7), (0.42, 0.38))
        for (sx, sy), (ax, ay), (nx, ny), length in sides:
            count = max(1, round(length / (cell * 1.05)))
            step = length / count
            for i in range(count):
                base = i * step
                pts = [
                    (
                        sx + ax * (base + kx * step) + nx * ky * cell,
                        sy + ay * (base + kx * step) + ny * ky * cell,
                    )
                    for kx, ky in key
                ]
                self.draw.line(pts, fill=_BORDER, width=line, joint="curve")
            end = (sx + ax * length + nx * 0.92 * cell, sy + ay * length + ny * 0.92 * cell)
            start = (sx + nx * 0.92 * cell, sy + ny * 0.92 * cell)
            self.draw.line((start, end), fill=_BORDER, width=line)


class _Canvas(_Blank):
    """The blank card copied, with fonts to write on it."""

    def __init__(self, size: CardSize, dpi: int, fonts: _Fonts) -> None:
        self.size = size
        self.dpi = dpi
        self.px_mm = dpi / 25.4
        self.fonts = fonts
        self.image = _paper(size, dpi).copy()
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: float,
        fill: tuple[int, int, int] = _INK,
        anchor: str = "ls",
        bold: float = 0.0,
    ) -> None:
        self.draw.text(
            xy,
            text,
            font=self.fonts.get(size),
            fill=fill,
            anchor=anchor,
            stroke_width=round(bold * size),
            stroke_fill=fill,
        )

    def spaced(
        self,
        x: float,
        baseline: float,
        text: str,
        size: float,
        width: float,
        fill: tuple[int, int, int],
        bold: float = 0.0,
    ) -> None:
        """``text`` spread over ``width`` (分散对齐); condensed if it is wider than that."""
        font = self.fonts.get(size)
        natural = font.getlength(text)
        if len(text) > 1 and natural <= width:
            gap = (width - natural) / (len(text) - 1)
            for ch in text:
                self.text((x, baseline), ch, size, fill, bold=bold)
                x += font.getlength(ch) + gap
            return
        if natural <= width:
            self.text((x, baseline), text, size, fill, bold=bold)
            return
        # Condensed type (长体), as forms set a long label in a fixed column.
        ascent, descent = font.getmetrics()
        strip = Image.new("L", (math.ceil(natural) + 2, ascent + descent), 0)
        ImageDraw.Draw(strip).text(
            (0, ascent),
            text,
            font=font,
            fill=255,
            anchor="ls",
            stroke_width=round(bold * size),
            stroke_fill=255,
        )
        squeezed = strip.resize((max(1, round(width)), strip.height), Image.Resampling.LANCZOS)
        self.image.paste(fill, (round(x), round(baseline - ascent)), squeezed)

    def stamp(self, picture: Image.Image, centre: tuple[float, float]) -> None:
        """Blend the seal like ink: multiply, so the text under it stays legible."""
        rgba = picture.convert("RGBA")
        alpha = rgba.getchannel("A").point(lambda a: round(a * _SEAL_OPACITY))
        layer = Image.new("RGB", rgba.size, (255, 255, 255))
        layer.paste(rgba.convert("RGB"), (0, 0), alpha)
        left = round(centre[0] - rgba.width / 2)
        top = round(centre[1] - rgba.height / 2)
        box = (left, top, left + rgba.width, top + rgba.height)
        self.image.paste(ImageChops.multiply(self.image.crop(box), layer), box)


@functools.lru_cache(maxsize=4)
def _paper(size: CardSize, dpi: int) -> Image.Image:
    """The blank card: paper, guilloche and border, drawn once per size and dpi."""
    blank = _Blank(size, dpi)
    width, height = blank.image.size
    inner = blank.px(size.border_mm + size.band_mm) + 2
    blank.guilloche((inner, inner, width - inner, height - inner))
    blank.border()
    return blank.image


@functools.lru_cache(maxsize=4)
def _default_font(override: str | None) -> Path:
    # find_cjk_font asks fontconfig on every call; the answer only changes with the
    # environment variable (or new fonts, which need a restart to be seen).
    return find_cjk_font()


def _seal_picture(sealed: SealedLicence) -> SealPicture:
    return parse_ses_signature(sealed.ses_signature).seal.info.picture


def _open_picture(picture: SealPicture, dpi: int, limit_px: float) -> Image.Image | None:
    """The seal picture at its size in millimetres, or None if it is not a raster image
    Pillow reads (e.g. an OFD or SVG seal), in which case no seal is drawn."""
    try:
        image = Image.open(io.BytesIO(picture.data), formats=("PNG", "JPEG", "GIF", "BMP"))
        if image.width * image.height > _MAX_SEAL_PIXELS:
            return None
        image.load()
        rgba = image.convert("RGBA")
    except Exception:
        # A seal picture is data from the document; a broken one must not stop the card.
        return None
    width_mm = picture.width_mm or 42
    height_mm = picture.height_mm or width_mm
    scale = min(1.0, limit_px / max(width_mm, height_mm) * 25.4 / dpi)
    size = (
        max(1, round(width_mm / 25.4 * dpi * scale)),
        max(1, round(height_mm / 25.4 * dpi * scale)),
    )
    return rgba.resize(size, Image.Resampling.LANCZOS)


def _title_lines(title: str) -> list[tuple[str, float]]:
    """The title's lines and their relative size: 中华人民共和国 on a small line of its own."""
    if title.startswith(_PRC) and len(title) > len(_PRC) + 1:
        return [(_PRC, 0.42), (title[len(_PRC) :], 1.0)]
    return [(title, 1.0)]


def _letter_space(count: int) -> float:
    """Tracking of the title, in ems: short titles are set wide (营 业 执 照)."""
    if count <= 4:
        return 0.6
    if count <= 6:
        return 0.35
    return 0.08


def _spread_width(font: ImageFont.FreeTypeFont, text: str, space: float) -> float:
    return font.getlength(text) + space * font.size * (len(text) - 1)


def _draw_spread(
    canvas: _Canvas, centre_x: float, baseline: float, text: str, size: float, space: float
) -> None:
    font = canvas.fonts.get(size)
    x = centre_x - _spread_width(font, text, space) / 2
    for ch in text:
        canvas.text((x, baseline), ch, size, bold=0.035)
        x += font.getlength(ch) + space * font.size


def _check_glyphs(font_path: Path, texts: Sequence[str]) -> None:
    chars = sorted({ch for text in texts for ch in text if not ch.isspace()})
    printable = "".join(ch for ch in chars if unicodedata.category(ch)[0] != "C")
    missing = _missing_glyphs(str(font_path), printable)
    if missing:
        shown = "".join(missing[:20]) + ("…" if len(missing) > 20 else "")
        raise FontNotFoundError(
            f"the font {font_path} has no glyph for {shown!r}; pass font_path= a font that has them"
        )


def _draw_table(canvas: _Canvas, table: _Layout, left: float, top: float, bottom: float) -> None:
    """Draw the fitted rows; spare height spreads the rows apart, as on printed licences."""
    size = table.size
    tallest = max(_Table.height_of(column, size) for column in table.columns)
    rows = max(len(column) for column in table.columns)
    gap = _ROW_GAP * size
    if rows > 1:
        gap = min(_MAX_ROW_GAP * size, gap + (bottom - top - tallest) / (rows - 1) * 0.6)
    for c, column in enumerate(table.columns):
        x = left + c * (table.column_width + _COLUMN_GAP * size)
        value_x = x + table.label_width + size
        y = top
        for p in column:
            line_h = p.size * _LINE
            baseline = y + line_h * 0.8
            canvas.spaced(x, baseline, p.row.label, size, table.label_width, _LABEL_INK, 0.03)
            for line in p.lines:
                canvas.text((value_x, baseline), line, p.size)
                baseline += line_h
            y += len(p.lines) * line_h + gap


def render_card(
    sealed: SealedLicence,
    *,
    qr_text: str,
    catalogue: Catalogue | None = None,
    size: str = "A6",
    dpi: int = 300,
    font_path: str | os.PathLike[str] | None = None,
    ecc: str = "M",
) -> Image.Image:
    """Draw ``sealed`` as a landscape licence card with ``qr_text`` as its QR code.

    ``size`` is ``"A6"`` (148 × 105 mm) or ``"A5"`` (210 × 148 mm); the image is RGB at
    ``dpi`` with the dpi recorded. Labels and field order come from the licence type in
    ``catalogue`` (default: the builtin one). The seal picture is the one inside the seal
    signature, at its size in millimetres; a picture Pillow cannot read is left out.

    Raises:
        InputError: an unknown size, a dpi out of 100–1200, or an empty ``qr_text``; a
            ``qr_text`` too long for a QR code.
        CatalogueError: the licence's type is not in the catalogue.
        DecodeError: the seal signature does not parse.
        FontNotFoundError: no CJK font, or the font lacks a character of the licence.
    """
    layout = CARD_SIZES.get(size) if isinstance(size, str) else None
    if layout is None:
        raise InputError(f"unknown card size {size!r}; expected one of {', '.join(CARD_SIZES)}")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 100 <= dpi <= _MAX_DPI:
        raise InputError(f"dpi must be an integer from 100 to {_MAX_DPI}, got {dpi!r}")
    if not isinstance(qr_text, str) or not qr_text:
        raise InputError("qr_text must be a non-empty string")
    licence = sealed.licence
    licence_type = (catalogue or Catalogue.builtin()).get(licence.type_code)
    picture = _seal_picture(sealed)
    path = _default_font(os.environ.get(FONT_ENV_VAR)) if font_path is None else Path(font_path)
    if not path.is_file():
        raise FontNotFoundError(f"{path} is not a font file")

    title = licence_type.title or licence_type.name
    rows = _rows(sealed, licence_type)
    issued = _cn_date(licence.issue_date)
    caption_id = f"证照标识：{licence.licence_id}"
    _check_glyphs(
        path,
        [title, licence.number, licence.issuer.name, issued, caption_id, "扫码核验证照编号：…"]
        + [r.label + r.value for r in rows],
    )

    fonts = _Fonts(path)
    canvas = _Canvas(layout, dpi, fonts)
    px = canvas.px
    width, height = canvas.image.size
    margin = px(layout.margin_mm)
    left, top, right, bottom = margin, margin, width - margin, height - margin

    # QR code, top right, sized to whole pixels per module within the size range.
    modules = qr_matrix(qr_text, ecc=ecc).size + 8
    module_px = max(1, math.floor(px(layout.qr_mm) / modules))
    qr = render_image(qr_text, ecc=ecc, module_px=module_px, dpi=dpi).convert("RGB")
    qr_left = right - qr.width
    canvas.image.paste(qr, (qr_left, top))
    column_centre = qr_left + qr.width / 2
    caption = layout.caption_mm * canvas.px_mm
    y = top + qr.height + caption * 1.15
    canvas.text((column_centre, y), "扫码核验", caption * 1.15, anchor="ms", bold=0.04)
    id_font = fonts.get(caption * 0.85)
    for line in _wrap(caption_id, id_font, qr.width)[:4]:
        y += caption * 1.25
        canvas.text((column_centre, y), line, caption * 0.85, fill=_QUIET_INK, anchor="ms")
    qr_bottom = y + caption * 0.5

    # Seal and issuer block, bottom right.
    seal_room = min(bottom - qr_bottom - px(2), 0.45 * (right - left))
    seal = _open_picture(picture, dpi, seal_room)
    seal_w = seal.width if seal is not None else px(40)
    seal_h = seal.height if seal is not None else px(40)
    column_w = max(seal_w, qr.width)
    table_right = right - column_w - px(3)
    seal_cx = right - column_w / 2
    seal_cy = bottom - seal_h / 2
    # The name fits inside the seal's ring, so the stamp covers it as a real one would.
    name_room = 0.9 * seal_w
    issuer_size = layout.body_mm * canvas.px_mm
    smallest = layout.body_min_mm * canvas.px_mm
    while (
        issuer_size > smallest and fonts.get(issuer_size).getlength(licence.issuer.name) > name_room
    ):
        issuer_size = max(smallest, issuer_size * 0.95)
    issuer_font = fonts.get(issuer_size)
    issuer_name = licence.issuer.name
    if issuer_font.getlength(issuer_name) > column_w:
        issuer_name = _ellipsize(issuer_name, issuer_font, column_w)
    canvas.text((seal_cx, seal_cy - issuer_size * 0.15), issuer_name, issuer_size, anchor="ms")
    canvas.text((seal_cx, seal_cy + issuer_size * 1.45), issued, issuer_size, anchor="ms")

    # Title, centred on the card but kept clear of the QR code.
    half = min(width / 2 - left, qr_left - px(3) - width / 2)
    lines = _title_lines(title)
    title_px = layout.title_mm * canvas.px_mm
    floor = layout.body_mm * canvas.px_mm
    for i, (text, rel) in enumerate(lines):
        space = _letter_space(len(text))
        while title_px > floor and _spread_width(fonts.get(title_px * rel), text, space) > 2 * half:
            title_px = max(floor, title_px * 0.95)
        font = fonts.get(title_px * rel)
        if _spread_width(font, text, space) > 2 * half:
            lines[i] = (_ellipsize(text, font, 2 * half - space * font.size * len(text)), rel)
    y = top
    for text, rel in lines:
        size_px = title_px * rel
        y += size_px * 1.02
        _draw_spread(canvas, width / 2, y, text, size_px, _letter_space(len(text)))
        y += size_px * 0.3

    # 证照编号, then the fields, set no larger than the fields.
    number_max = layout.body_mm * canvas.px_mm * 0.9
    table_top = y + number_max * 2.7
    table = _Table(fonts, rows, table_right - left, bottom - table_top, canvas.px_mm)
    fitted = table.fit(layout.body_mm, layout.body_min_mm)
    number_size = min(number_max, fitted.size)
    number = f"证照编号：{licence.number}"
    number_font = fonts.get(number_size)
    if number_font.getlength(number) > table_right - left:
        number = _ellipsize(number, number_font, table_right - left)
    canvas.text((left, y + number_max * 1.6), number, number_size, _LABEL_INK)
    _draw_table(canvas, fitted, left, table_top, bottom)

    if seal is not None:
        canvas.stamp(seal, (seal_cx, seal_cy))
    canvas.image.info["dpi"] = (dpi, dpi)
    return canvas.image


def card_png(
    sealed: SealedLicence,
    *,
    qr_text: str,
    catalogue: Catalogue | None = None,
    size: str = "A6",
    dpi: int = 300,
    font_path: str | os.PathLike[str] | None = None,
    ecc: str = "M",
) -> bytes:
    """:func:`render_card` as a PNG with its dpi recorded."""
    image = render_card(
        sealed,
        qr_text=qr_text,
        catalogue=catalogue,
        size=size,
        dpi=dpi,
        font_path=font_path,
        ecc=ecc,
    )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def card_pdf(
    sealed: SealedLicence,
    *,
    qr_text: str,
    catalogue: Catalogue | None = None,
    size: str = "A6",
    dpi: int = 300,
    font_path: str | os.PathLike[str] | None = None,
    ecc: str = "M",
) -> bytes:
    """:func:`render_card` as a one-page PDF of the card's size.

    The page is the card image at ``dpi`` (JPEG at high quality without chroma subsampling,
    which keeps the QR code and the seal's red crisp); the dates in the PDF's information
    dictionary are the sealing time, so the same licence gives the same file.
    """
    image = render_card(
        sealed,
        qr_text=qr_text,
        catalogue=catalogue,
        size=size,
        dpi=dpi,
        font_path=font_path,
        ecc=ecc,
    )
    licence = sealed.licence
    when = (
        licence.sealing.signed_at.utctimetuple()
        if licence.sealing is not None
        else date(
            licence.issue_date.year, licence.issue_date.month, licence.issue_date.day
        ).timetuple()
    )
    out = io.BytesIO()
    image.save(
        out,
        format="PDF",
        resolution=float(dpi),
        quality=92,
        subsampling=0,
        title=f"{licence.type_name} {licence.number}",
        author=licence.issuer.name,
        creator="ezhengzhao",
        producer="ezhengzhao",
        creationDate=when,
        modDate=when,
    )
    return out.getvalue()
