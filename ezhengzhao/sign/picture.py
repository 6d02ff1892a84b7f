"""The seal picture — 印模: a round red official seal drawn with Pillow.

The picture goes into ``SES_SealInfo.picture`` (GB/T 38540 §6) and is what a reader sees
where a licence is sealed. It follows the look of a Chinese official seal (公章): a red ring,
a five-pointed star in the centre, the authority's name along the upper arc read clockwise,
and an optional line (e.g. 电子印章, 证照专用章) under the star. Output is a deterministic PNG,
so test vectors that embed it are reproducible on the same Pillow version.
"""

from __future__ import annotations

import functools
import io
import math
import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

from ezhengzhao.errors import FontNotFoundError, SealError
from ezhengzhao.sign.ses import SealPicture

__all__ = ["SEAL_RED", "draw_seal_picture", "find_cjk_font"]

SEAL_RED = (0xD7, 0x00, 0x0F)
"""The seal's ink colour, #D7000F."""

FONT_ENV_VAR = "EZZ_CJK_FONT"

# Debian/Ubuntu paths of fonts with Chinese glyphs, most seal-like first.
_KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",  # fonts-noto-cjk-extra
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/arphic/ukai.ttc",  # fonts-arphic-ukai
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",  # fonts-arphic-gbsn00lp
)
_PROBE_TEXT = "市场监督管理局"
_INSTALL_HINT = "install a CJK font, e.g. `apt-get install fonts-wqy-zenhei`"

# Proportions of a 42 mm official seal (ring 1.2 mm, star 14 mm across, name ~6.5 mm high),
# as fractions of the diameter, so smaller or larger seals keep the look.
_RING_WIDTH = 1.3 / 42
_MARGIN = 0.4 / 42
_TEXT_GAP = 0.9 / 42  # between the ring's inner edge and the tops of the characters
_NAME_HEIGHT = 6.5 / 42
_STAR_RADIUS = 7.0 / 42
_SUBTITLE_HEIGHT = 4.2 / 42
_SUBTITLE_GAP = 1.6 / 42  # between the star's lower points and the subtitle
_MIN_SQUEEZE = 0.62  # narrowest a name character gets (width / height) before it shrinks
_STROKE = 0.015  # extra stroke, fraction of the font size: engraved seal type is heavier
_SUPERSAMPLE = 4  # drawn at 4× and reduced, for smooth edges


_ALPHA_LEVELS = 4


def find_cjk_font() -> Path:
    """Find a font file that really has Chinese glyphs.

    ``EZZ_CJK_FONT`` overrides the search: if set, that file must exist and have the glyphs,
    otherwise :class:`FontNotFoundError` is raised (an explicit choice is never silently
    replaced). Without it: known Debian paths, then ``fc-match``, then ``fc-list :lang=zh``.
    A candidate counts only if it renders the glyphs of "市场监督管理局" distinct from its
    missing-glyph box: fontconfig happily answers ``:lang=zh`` with a Latin font.

    Raises:
        FontNotFoundError: no usable font; the message says which package to install.
    """
    override = os.environ.get(FONT_ENV_VAR, "").strip()
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontNotFoundError(f"{FONT_ENV_VAR}={override!r} is not a font file")
        if not _has_cjk_glyphs(str(path)):
            raise FontNotFoundError(
                f"{FONT_ENV_VAR}={override!r} has no Chinese glyphs; point it at a CJK font or "
                f"unset it ({_INSTALL_HINT})"
            )
        return path
    for candidate in (*_KNOWN_FONTS, *_fontconfig_candidates()):
        if Path(candidate).is_file() and _has_cjk_glyphs(candidate):
            return Path(candidate)
    raise FontNotFoundError(f"no font with Chinese glyphs found; {_INSTALL_HINT}")


def _fontconfig_candidates() -> list[str]:
    """Font files fontconfig offers for Chinese, best match first; empty without fontconfig."""
    found: list[str] = []
    commands = (
        ["fc-match", "-f", "%{file}", ":lang=zh"],
        ["fc-list", "-f", "%{file}\n", ":lang=zh"],
    )
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        # fc-list order depends on the cache; sort it so the choice is stable.
        lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
        found.extend(lines if command[0] == "fc-match" else sorted(lines))
    return found


def _glyph_mask(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    size = int(font.size) * 2
    img = Image.new("L", (size, size), 0)
    ImageDraw.Draw(img).text((size // 2, size // 2), ch, fill=255, font=font, anchor="mm")
    return img.tobytes()


@functools.lru_cache(maxsize=32)
def _missing_glyphs(font_path: str, text: str) -> tuple[str, ...]:
    """Characters of ``text`` that the font draws blank or as its missing-glyph box."""
    try:
        font = ImageFont.truetype(font_path, 32, index=0, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return tuple(text)
    blank = bytes(len(_glyph_mask(font, " ")))
    # U+10FFFD is a private-use code point no font should map: it renders as .notdef.
    notdef = _glyph_mask(font, "\U0010fffd")
    return tuple(ch for ch in text if _glyph_mask(font, ch) in (blank, notdef))


def _has_cjk_glyphs(font_path: str) -> bool:
    return not _missing_glyphs(font_path, _PROBE_TEXT)


def _check_text(font_path: Path, text: str, what: str) -> None:
    missing = _missing_glyphs(str(font_path), text)
    if missing:
        raise SealError(f"{what}: the font {font_path} has no glyph for {''.join(missing)!r}")


def _name_arc_degrees(count: int) -> float:
    """Arc the name spans, first to last character centre.

    Names of six or more characters (nearly every authority's) spread over 210°–250°, wider
    when longer, as on real seals; shorter names keep 35° per character rather than
    scattering a few characters around the ring.
    """
    if count >= 6:
        return min(250.0, max(210.0, 22.0 * count))
    return 35.0 * (count - 1)


def _star_points(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    """A regular five-pointed star, one point straight up."""
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else inner
        a = math.radians(-90 + 36 * k)
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def _stroke(px: float) -> int:
    return max(1, round(px * _STROKE))


def _glyph(font: ImageFont.FreeTypeFont, ch: str, box: int) -> Image.Image:
    """One character as an 8-bit mask on a ``box``-square canvas, centred on its em box."""
    img = Image.new("L", (box, box), 0)
    ImageDraw.Draw(img).text(
        (box / 2, box / 2),
        ch,
        fill=255,
        font=font,
        anchor="mm",
        stroke_width=_stroke(float(font.size)),
        stroke_fill=255,
    )
    return img


def _paste_max(mask: Image.Image, piece: Image.Image, cx: float, cy: float) -> None:
    """Ink ``piece`` into ``mask`` centred at (cx, cy), keeping the darker ink where they meet."""
    left = round(cx - piece.width / 2)
    top = round(cy - piece.height / 2)
    region = (left, top, left + piece.width, top + piece.height)
    mask.paste(ImageChops.lighter(mask.crop(region), piece), region)


def draw_seal_picture(
    name: str,
    *,
    diameter_mm: int = 42,
    dpi: int = 200,
    subtitle: str | None = None,
    font_path: Path | None = None,
) -> SealPicture:
    """Draw a round official seal as a transparent PNG — 印模 (GB/T 38540 picture).

    The name runs clockwise along the upper arc, characters turned to face the centre and
    spread evenly over 210°–250°; long names get narrower characters, as on real seals.
    Whitespace in the name is ignored.
    ``subtitle`` is written horizontally under the star. The PNG is a palette image (seal red
    at four opacities, about 6 KB), square, ``round(diameter_mm / 25.4 * dpi)`` pixels wide,
    with its dpi recorded.

    Raises:
        SealError: empty name, sizes out of range, or a character the font cannot draw.
        FontNotFoundError: ``font_path`` (or the font found) has no Chinese glyphs.
    """
    chars = [ch for ch in name if not ch.isspace()] if isinstance(name, str) else []
    if not chars:
        raise SealError("the seal name must contain at least one character")
    if not isinstance(diameter_mm, int) or not 20 <= diameter_mm <= 100:
        raise SealError(f"diameter_mm must be an integer from 20 to 100, got {diameter_mm!r}")
    if not isinstance(dpi, int) or not 72 <= dpi <= 1200:
        raise SealError(f"dpi must be an integer from 72 to 1200, got {dpi!r}")
    sub_chars = subtitle.strip() if subtitle else ""

    if font_path is None:
        font_file = find_cjk_font()
    else:
        font_file = Path(font_path)
        if not font_file.is_file() or not _has_cjk_glyphs(str(font_file)):
            raise FontNotFoundError(f"{font_file} is not a font with Chinese glyphs")
    _check_text(font_file, "".join(chars), "seal name")
    if sub_chars:
        _check_text(font_file, sub_chars.replace(" ", ""), "subtitle")

    size = round(diameter_mm / 25.4 * dpi)
    big = size * _SUPERSAMPLE
    d = float(big)  # diameter in supersampled pixels; every length below is a fraction of it
    c = d / 2
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)

    # Ring.
    outer = c - _MARGIN * d
    ring = _RING_WIDTH * d
    draw.ellipse((c - outer, c - outer, c + outer, c + outer), fill=255)
    inner = outer - ring
    draw.ellipse((c - inner, c - inner, c + inner, c + inner), fill=0)

    # Star.
    draw.polygon(_star_points(c, c, _STAR_RADIUS * d), fill=255)

    # Name along the upper arc, first character lower left, clockwise over the top.
    count = len(chars)
    span = _name_arc_degrees(count)
    step = math.radians(span / (count - 1)) if count > 1 else 0.0
    top_edge = inner - _TEXT_GAP * d  # radius of the characters' tops
    name_px = _NAME_HEIGHT * d
    squeeze = 1.0
    if count > 1:
        # A character may fill 90 % of its share of the arc at its foot, where the arc is
        # shortest. Long names are first narrowed (长体, as engravers fit them), and only
        # below _MIN_SQUEEZE made shorter too.
        name_px = min(name_px, 0.9 * step * top_edge / (_MIN_SQUEEZE + 0.9 * step))
        squeeze = min(1.0, 0.9 * step * (top_edge - name_px) / name_px)
    name_font = _font(font_file, round(name_px))
    radius = top_edge - name_px / 2  # through the characters' centres
    box = round(name_px * 1.3)
    for i, ch in enumerate(chars):
        theta = math.degrees(-step * (count - 1) / 2 + i * step)
        glyph = _glyph(name_font, ch, box)
        if squeeze < 1.0:
            glyph = glyph.resize((max(1, round(box * squeeze)), box), Image.Resampling.LANCZOS)
        turned = glyph.rotate(-theta, resample=Image.Resampling.BICUBIC, expand=True)
        a = math.radians(theta)
        _paste_max(mask, turned, c + radius * math.sin(a), c - radius * math.cos(a))

    # Subtitle, horizontal, under the star, narrowed to fit between the ring and the name's
    # last characters.
    if sub_chars:
        sub_px = round(_SUBTITLE_HEIGHT * d)
        sub_font = _font(font_file, sub_px)
        star_bottom = c + _STAR_RADIUS * d * math.cos(math.radians(36))
        y = star_bottom + _SUBTITLE_GAP * d + sub_px / 2
        limit = 2 * math.sqrt(max(inner**2 - (y + sub_px / 2 - c) ** 2, 0.0)) * 0.85
        if count > 1:
            # The last characters sit lowest; past 90° from the top they close in sideways.
            end = max(math.radians(span / 2), math.pi / 2)
            limit = min(limit, 2 * (radius * math.sin(end) - 0.75 * name_px))
        line = Image.new("L", (round(sub_px * 1.2 * len(sub_chars)) + 4, round(sub_px * 1.5)), 0)
        ImageDraw.Draw(line).text(
            (line.width / 2, line.height / 2),
            sub_chars,
            fill=255,
            font=sub_font,
            anchor="mm",
            stroke_width=_stroke(sub_px),
            stroke_fill=255,
        )
        bbox = line.getbbox()
        if bbox is not None:
            line = line.crop((bbox[0], 0, bbox[2], line.height))
            if line.width > limit:
                line = line.resize((max(1, round(limit)), line.height), Image.Resampling.LANCZOS)
            _paste_max(mask, line, c, y)

    alpha = mask.resize((size, size), Image.Resampling.LANCZOS)
    # The picture travels inside every sealed licence, so it is a 2-bit palette PNG: seal red
    # at four opacities keeps the edges smooth at a tenth of the size of an RGBA image.
    levels = _ALPHA_LEVELS - 1
    picture = alpha.point(lambda v: (v * levels + 127) // 255).convert("P")
    picture.putpalette(list(SEAL_RED) * _ALPHA_LEVELS)
    out = io.BytesIO()
    picture.save(
        out,
        format="PNG",
        dpi=(dpi, dpi),
        bits=2,
        optimize=True,
        transparency=bytes(round(i * 255 / levels) for i in range(_ALPHA_LEVELS)),
    )
    return SealPicture(type="png", data=out.getvalue(), width_mm=diameter_mm, height_mm=diameter_mm)


def _font(path: Path, px: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: one glyph at a time, no shaping library whose version could change pixels.
    return ImageFont.truetype(str(path), px, index=0, layout_engine=ImageFont.Layout.BASIC)
