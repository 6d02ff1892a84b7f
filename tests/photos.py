"""A deterministic set of degraded QR photos, for the scanner's tests and benchmark.

``degraded_set(n_per_kind)`` draws ``EZZ1:`` codes of realistic length (200–450 characters of
base45 alphabet: random text, not a signed payload; the scanner only carries text) at ECC M,
spoils them the ways phone photos and office scans do, and returns ``(kind, image bytes,
expected texts)``. Everything comes from one seeded ``random.Random``; Pillow's own noise
generator is not used because it draws from C's unseeded ``rand()``.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from statistics import NormalDist
from typing import Final

from PIL import Image, ImageDraw, ImageFilter

from ezhengzhao.qr.image import render_image

__all__ = ["KINDS", "degraded_set", "fake_payload", "photo_background"]

BASE45: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
SEED: Final = 20260601

Photo = tuple[bytes, list[str]]


def fake_payload(rng: random.Random, length: int | None = None) -> str:
    """An ``EZZ1:`` text of ``length`` (default 200–450) characters of the base45 alphabet."""
    n = rng.randint(200, 450) if length is None else length
    return "EZZ1:" + "".join(rng.choice(BASE45) for _ in range(n - 5))


def _code(text: str, module_px: int) -> Image.Image:
    return render_image(text, module_px=module_px, greyscale=True)


def _encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        params.setdefault("compress_level", 1)  # noisy photos compress slowly and poorly
    image.save(out, format=fmt, **params)
    return out.getvalue()


# Uniform bytes mapped through the inverse normal CDF: Gaussian noise at C speed.
_GAUSS: Final = [NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)]


def _noise(rng: random.Random, size: tuple[int, int], sigma: float) -> Image.Image:
    """Gaussian noise centred on 128 with standard deviation ``sigma`` (grey levels)."""
    uniform = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    table = [max(0, min(255, round(128 + sigma * g))) for g in _GAUSS]
    return uniform.point(table)


def _add_noise(rng: random.Random, image: Image.Image, sigma: float) -> Image.Image:
    from PIL import ImageChops

    return ImageChops.add(image, _noise(rng, image.size, sigma), scale=1.0, offset=-128)


def photo_background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A grey 'photo': an uneven light gradient, soft blotches and sensor noise."""
    w, h = size
    a, b = rng.randint(120, 200), rng.randint(160, 235)
    angle = rng.uniform(0, math.pi)
    dx, dy = math.cos(angle), math.sin(angle)
    span = abs(dx) * w + abs(dy) * h or 1.0
    # The gradient drawn small and enlarged: smooth, and cheap to compute.
    sw, sh = 32, max(2, round(32 * h / w))
    small = Image.new("L", (sw, sh))
    small.putdata(
        [
            round(a + (b - a) * ((x * w / sw) * abs(dx) + (y * h / sh) * abs(dy)) / span)
            for y in range(sh)
            for x in range(sw)
        ]
    )
    gradient = small.resize(size, Image.Resampling.BICUBIC)
    blotches = Image.frombytes("L", (8, 6), rng.randbytes(48)).resize(
        size, Image.Resampling.BICUBIC
    )
    photo = Image.blend(gradient, blotches, 0.25)
    return _add_noise(rng, photo, 6)


def _place(
    rng: random.Random, code: Image.Image, size: tuple[int, int] | None = None
) -> Image.Image:
    """``code`` (with its white quiet zone) pasted somewhere on a photo background."""
    if size is None:
        size = (code.width + rng.randint(150, 500), code.height + rng.randint(150, 400))
    background = photo_background(rng, size)
    x = rng.randint(0, size[0] - code.width)
    y = rng.randint(0, size[1] - code.height)
    background.paste(code, (x, y))
    return background


def _rotated(rng: random.Random, text: str, angle: float) -> Photo:
    code = _code(text, rng.randint(4, 6))
    turned = code.rotate(
        angle + rng.uniform(-1, 1), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
    )
    # Rotation leaves white corners; on the photo they look like the card's paper.
    return _encode(_place(rng, turned)), [text]


def _quarter(rng: random.Random, text: str, turn: Image.Transpose) -> Photo:
    code = _code(text, rng.randint(3, 5)).transpose(turn)
    return _encode(_place(rng, code)), [text]


def _skew(rng: random.Random, text: str) -> Photo:
    code = _code(text, 5)
    shear = rng.choice((-1, 1)) * rng.uniform(0.15, 0.3)
    w, h = code.size
    width = w + round(abs(shear) * h)
    offset = -shear * h if shear > 0 else 0.0
    skewed = code.transform(
        (width, h),
        Image.Transform.AFFINE,
        (1, shear, offset, 0, 1, 0),
        resample=Image.Resampling.BICUBIC,
        fillcolor=255,
    )
    return _encode(_place(rng, skewed)), [text]


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Solve a small linear system by Gaussian elimination with partial pivoting."""
    n = len(rhs)
    rows = [[*matrix[i], rhs[i]] for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                f = rows[r][col] / rows[col][col]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def _homography(
    dst: list[tuple[float, float]], src: list[tuple[float, float]]
) -> tuple[float, ...]:
    """Pillow PERSPECTIVE coefficients taking output points ``dst`` to input points ``src``."""
    matrix, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    return tuple(_solve(matrix, rhs))


def _perspective(rng: random.Random, text: str) -> Photo:
    """A code seen at an angle: the far edge shorter, the far rows closer together."""
    code = _code(text, 5)
    w, h = code.size
    k = rng.uniform(0.08, 0.15) * w  # how much the far edge shrinks at each end
    drop = rng.uniform(0.05, 0.1) * h  # foreshortening: the far rows come closer
    far_top = [(k, drop), (w - k, drop), (float(w), float(h)), (0.0, float(h))]
    corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    if rng.random() < 0.5:  # tilted the other way: far edge at the bottom
        far_top = [(0.0, 0.0), (float(w), 0.0), (w - k, h - drop), (k, h - drop)]
    warped = code.transform(
        (w, h),
        Image.Transform.PERSPECTIVE,
        _homography(far_top, corners),
        resample=Image.Resampling.BICUBIC,
        fillcolor=255,
    )
    return _encode(_place(rng, warped)), [text]


def _blur(rng: random.Random, text: str) -> Photo:
    code = _code(text, rng.randint(6, 8))
    blurred = _place(rng, code).filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.0)))
    return _encode(blurred), [text]


def _jpeg(rng: random.Random, text: str) -> Photo:
    code = _code(text, rng.randint(4, 6))
    photo = _place(rng, code)
    return _encode(photo, "JPEG", quality=rng.randint(20, 40)), [text]


def _gauss(rng: random.Random, text: str, low: float = 25, high: float = 40) -> Photo:
    code = _code(text, rng.randint(4, 6))
    return _encode(_add_noise(rng, _place(rng, code), rng.uniform(low, high))), [text]


def _salt(rng: random.Random, text: str, low: float = 0.03, high: float = 0.06) -> Photo:
    photo = _place(rng, _code(text, rng.randint(4, 6)))
    share = rng.uniform(low, high)  # of pixels flipped to black or white
    cut = round(share * 128)
    dice = Image.frombytes("L", photo.size, rng.randbytes(photo.width * photo.height))
    salt = dice.point([255 if v < cut else 0 for v in range(256)])
    pepper = dice.point([255 if 128 <= v < 128 + cut else 0 for v in range(256)])
    photo.paste(255, mask=salt)
    photo.paste(0, mask=pepper)
    return _encode(photo), [text]


def _low_contrast(rng: random.Random, text: str) -> Photo:
    dark, light = rng.randint(85, 100), rng.randint(150, 165)
    code = _code(text, rng.randint(4, 6)).point(lambda v: dark + (light - dark) * v // 255)
    photo = Image.new("L", (code.width + 200, code.height + 160), light)
    photo.paste(code, (rng.randint(0, 200), rng.randint(0, 160)))
    return _encode(_add_noise(rng, photo, 4)), [text]


def _downscaled(rng: random.Random, text: str) -> Photo:
    code = _code(text, 10)
    factor = rng.uniform(2.0, 2.5) / 10  # about two pixels a module, not a whole number
    small = code.resize(
        (round(code.width * factor), round(code.height * factor)), Image.Resampling.BOX
    )
    return _encode(_place(rng, small)), [text]


def _on_photo(rng: random.Random, text: str) -> Photo:
    """A small code on a large, busy photo, saved as an ordinary camera JPEG."""
    code = _code(text, 4).rotate(rng.uniform(-8, 8), expand=True, fillcolor=255)
    photo = photo_background(rng, (1600, 1200))
    draw = ImageDraw.Draw(photo)
    for _ in range(12):  # clutter: strokes and boxes in the scene
        x, y = rng.randint(0, 1500), rng.randint(0, 1100)
        draw.rectangle(
            (x, y, x + rng.randint(10, 200), y + rng.randint(3, 40)), fill=rng.randint(0, 90)
        )
    photo.paste(code, (rng.randint(0, 1600 - code.width), rng.randint(0, 1200 - code.height)))
    return _encode(photo, "JPEG", quality=85), [text]


def _two_codes(rng: random.Random, text: str) -> Photo:
    other = fake_payload(rng)
    left, right = _code(text, 4), _code(other, 4)
    w = left.width + right.width + rng.randint(120, 300)
    h = max(left.height, right.height) + rng.randint(100, 250)
    photo = photo_background(rng, (w, h))
    # Side by side, tops at most a quarter of a code apart: one row, read left to right.
    top = rng.randint(10, h - max(left.height, right.height) - 10)
    shift = rng.randint(0, left.height // 4)
    photo.paste(left, (rng.randint(10, 60), top))
    photo.paste(right, (w - right.width - rng.randint(10, 60), max(0, top - shift)))
    # Reading order: left to right, the two codes side by side on one row.
    return _encode(photo), [text, other]


def _no_code(rng: random.Random, text: str) -> Photo:
    """A photo without any code, with clutter a detector might mistake for finder patterns."""
    photo = photo_background(rng, (900, 700))
    draw = ImageDraw.Draw(photo)
    for _ in range(rng.randint(5, 15)):
        x, y, s = rng.randint(0, 850), rng.randint(0, 650), rng.randint(10, 60)
        draw.rectangle((x, y, x + s, y + s), outline=0, width=max(1, s // 7))
    for _ in range(rng.randint(3, 8)):
        x, y = rng.randint(0, 800), rng.randint(0, 650)
        draw.text((x, y), "".join(rng.choice(BASE45) for _ in range(12)), fill=0)
    return _encode(photo, rng.choice(("PNG", "JPEG"))), []


#: Degradations, by name; each makes one photo from a random generator and a text.
KINDS: Final[dict[str, Callable[[random.Random, str], Photo]]] = {
    "rotate_5": lambda rng, text: _rotated(rng, text, 5),
    "rotate_15": lambda rng, text: _rotated(rng, text, 15),
    "rotate_30": lambda rng, text: _rotated(rng, text, 30),
    "rotate_90": lambda rng, text: _quarter(rng, text, Image.Transpose.ROTATE_90),
    "rotate_180": lambda rng, text: _quarter(rng, text, Image.Transpose.ROTATE_180),
    "skew": _skew,
    "perspective": _perspective,
    "blur": _blur,
    "jpeg_q20_40": _jpeg,
    "gaussian_noise": _gauss,
    "salt_and_pepper": _salt,
    # Beyond what the first pass reads: these need the scanner's clean-up passes.
    "heavy_noise": lambda rng, text: _gauss(rng, text, 60, 75),
    "heavy_salt": lambda rng, text: _salt(rng, text, 0.12, 0.18),
    "low_contrast": _low_contrast,
    "downscale_2px": _downscaled,
    "busy_photo": _on_photo,
    "two_codes": _two_codes,
    "no_code": _no_code,
}


def degraded_set(
    n_per_kind: int = 5, *, seed: int = SEED, kinds: tuple[str, ...] | None = None
) -> list[tuple[str, bytes, list[str]]]:
    """``n_per_kind`` photos of each kind: ``(kind, image bytes, expected texts)``.

    The same arguments give the same bytes on the same Pillow version.
    """
    rng = random.Random(seed)
    photos = []
    for kind in kinds or tuple(KINDS):
        make = KINDS[kind]
        for _ in range(n_per_kind):
            data, expected = make(rng, fake_payload(rng))
            photos.append((kind, data, expected))
    return photos
