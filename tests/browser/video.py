"""A camera's view of a QR code as a YUV4MPEG2 video, for Chromium's fake video capture.

Chromium can play a ``.y4m`` file as if it came from a camera. The file is uncompressed: a
header line, then for each frame ``FRAME\\n`` and the Y, Cb and Cr planes, chroma at half
resolution (4:2:0). The first frames show only a desk, so the window page has to keep sending
frames until the code comes into view, as it does with a real camera.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

__all__ = ["write_qr_video"]


def _frame_bytes(image: Image.Image) -> bytes:
    """One frame: full-resolution Y, then Cb and Cr halved in both directions (JPEG range)."""
    y, cb, cr = image.convert("YCbCr").split()
    half = (image.width // 2, image.height // 2)
    cb = cb.resize(half, Image.Resampling.BOX)
    cr = cr.resize(half, Image.Resampling.BOX)
    return b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes()


def _desk(size: tuple[int, int]) -> Image.Image:
    """A plain grey-brown desk with a soft shadow: what a camera sees before the code."""
    image = Image.new("RGB", size, (150, 140, 128))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((0, h * 3 // 4, w, h), fill=(132, 123, 112))
    return image


def _with_code(size: tuple[int, int], code: Image.Image) -> Image.Image:
    """The desk with a sheet of paper bearing the code, slightly off centre."""
    image = _desk(size)
    w, h = size
    scale = max(1, min((h - 80) // code.height, (w - 80) // code.width))
    code = code.convert("RGB").resize(
        (code.width * scale, code.height * scale), Image.Resampling.NEAREST
    )
    margin = 24
    left = (w - code.width) // 2 + 12
    top = (h - code.height) // 2 - 6
    ImageDraw.Draw(image).rectangle(
        (left - margin, top - margin, left + code.width + margin, top + code.height + margin),
        fill=(246, 246, 240),
    )
    image.paste(code, (left, top))
    return image


def write_qr_video(
    qr_png: Path,
    out: Path,
    *,
    size: tuple[int, int] = (640, 480),
    fps: int = 2,
    blank_frames: int = 3,
    code_frames: int = 3,
) -> Path:
    """Write ``out`` (.y4m): ``blank_frames`` of desk, then ``code_frames`` showing ``qr_png``.

    Chromium loops the file, so the code keeps coming back into view.
    """
    w, h = size
    if w % 2 or h % 2:
        raise ValueError(f"4:2:0 video needs an even width and height, not {w}x{h}")
    with Image.open(qr_png) as code:
        code.load()
        shown = _frame_bytes(_with_code(size, code))
    empty = _frame_bytes(_desk(size))
    header = f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii")
    with out.open("wb") as f:
        f.write(header)
        for _ in range(blank_frames):
            f.write(empty)
        for _ in range(code_frames):
            f.write(shown)
    return out
