"""Screenshots the tests draw themselves: code, error messages and documents, in several
fonts and sizes, with fonts shipped in packages (Pillow's own, matplotlib's DejaVu)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = {
    "pillow-default": None,
    "dejavu-mono": _FONT_DIR / "DejaVuSansMono.ttf",
    "dejavu-sans": _FONT_DIR / "DejaVuSans.ttf",
    "dejavu-serif": _FONT_DIR / "DejaVuSerif.ttf",
}


@dataclass(frozen=True)
class Screenshot:
    name: str
    lines: tuple[str, ...]
    font: str
    size: int
    dark: bool = False


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONTS[name]
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size)


def render(shot: Screenshot, fmt: str = "PNG") -> bytes:
    """The screenshot's image file, as bytes."""
    face = font(shot.font, shot.size)
    pad, line_height = shot.size, int(shot.size * 1.5)
    width = max(int(face.getlength(line)) for line in shot.lines) + 2 * pad
    height = line_height * len(shot.lines) + 2 * pad
    background, ink = (
        ((30, 30, 30), (225, 225, 225)) if shot.dark else ((255, 255, 255), (20, 20, 20))
    )
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(shot.lines):
        draw.text((pad, pad + i * line_height), line, font=face, fill=ink)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


CODE = (
    "def consolidate_episodes(scope, turns):",
    "    budget = settings.max_tokens",
    "    return merge_segments(turns, budget)",
)
ERROR = (
    "Traceback (most recent call last):",
    '  File "worker.py", line 42, in run_job',
    "ConnectionRefusedError: postgres refused connection",
)
DOCUMENT = (
    "Quarterly planning notes for the Lisbon office",
    "Invoices above 5000 euros need two approvals.",
)

SCREENSHOTS = (
    Screenshot("code-mono-14-dark.png", CODE, "dejavu-mono", 14, dark=True),
    Screenshot("code-default-22.png", CODE, "pillow-default", 22),
    Screenshot("error-sans-12.png", ERROR, "dejavu-sans", 12),
    Screenshot("error-mono-28.png", ERROR, "dejavu-mono", 28),
    Screenshot("document-serif-18.png", DOCUMENT, "dejavu-serif", 18),
    Screenshot("document-default-32.png", DOCUMENT, "pillow-default", 32),
)
