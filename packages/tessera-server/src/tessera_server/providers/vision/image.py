"""What can be known about an uploaded image without a model: format, size, colours, EXIF.

Uploads are untrusted, so the image is opened defensively: only the four accepted formats,
its pixel count checked from the header before any pixel is decoded (a decompression bomb
is refused without being inflated), and a truncated or corrupt file is an error the caller
can act on, not a crash.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP")

# Named colours a search can use ("the teal screenshot"): a small, common vocabulary.
_PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "dark grey": (64, 64, 64),
    "grey": (128, 128, 128),
    "light grey": (192, 192, 192),
    "white": (255, 255, 255),
    "red": (200, 30, 30),
    "dark red": (128, 0, 0),
    "orange": (240, 140, 20),
    "yellow": (240, 220, 40),
    "olive": (128, 128, 0),
    "green": (40, 170, 60),
    "dark green": (0, 100, 0),
    "teal": (0, 128, 128),
    "cyan": (0, 220, 220),
    "blue": (30, 90, 220),
    "navy": (0, 0, 128),
    "purple": (128, 0, 128),
    "violet": (150, 100, 220),
    "pink": (240, 130, 180),
    "brown": (130, 80, 30),
    "beige": (225, 210, 170),
}
_EXIF_IFD = 0x8769
_DATE_ORIGINAL, _DATE = 0x9003, 0x0132
_MAKE, _MODEL = 0x010F, 0x0110
_PRINTABLE = re.compile(r"[^\x20-\x7e]+")


class UnreadableImage(ValueError):
    """The bytes are not an image that can be read; the message says why."""


class ImageTooLarge(ValueError):
    """The image has more pixels than allowed."""


@dataclass(frozen=True)
class ImageFacts:
    format: str
    width: int
    height: int
    colours: list[str] = field(default_factory=list)
    taken_at: str | None = None
    camera: str | None = None


def _clean(value: object, limit: int = 80) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    if not isinstance(value, str):
        return None
    text = _PRINTABLE.sub(" ", value).strip()
    return text[:limit] or None


def _colour_name(rgb: tuple[int, int, int]) -> str:
    return min(
        _PALETTE, key=lambda n: sum((a - b) ** 2 for a, b in zip(_PALETTE[n], rgb, strict=True))
    )


def dominant_colours(image: Image.Image, most: int = 3, share: float = 0.1) -> list[str]:
    """Names of the colours covering at least `share` of the image, most common first."""
    small = image.copy()
    small.thumbnail((64, 64))
    if small.mode in ("RGBA", "LA") or "transparency" in small.info:
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.getchannel("A"))
    small = small.convert("RGB")
    counts: dict[str, int] = {}
    for count, rgb in small.getcolors(small.width * small.height) or []:
        if not isinstance(rgb, tuple) or len(rgb) < 3:
            continue
        name = _colour_name((int(rgb[0]), int(rgb[1]), int(rgb[2])))
        counts[name] = counts.get(name, 0) + count
    total = sum(counts.values()) or 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return [name for name, n in ranked if n / total >= share][:most]


def _exif(image: Image.Image) -> tuple[str | None, str | None]:
    try:
        exif = image.getexif()
        taken = _clean(exif.get_ifd(_EXIF_IFD).get(_DATE_ORIGINAL) or exif.get(_DATE), 40)
        make, model = _clean(exif.get(_MAKE)), _clean(exif.get(_MODEL))
    except Exception:  # a malformed EXIF block is no reason to refuse the image
        return None, None
    if make and model and model.lower().startswith(make.lower()):
        make = None
    camera = " ".join(p for p in (make, model) if p) or None
    return taken, camera


def open_image(data: bytes, max_pixels: int) -> tuple[Image.Image, ImageFacts]:
    """Decode `data` into an RGB image and its facts, or raise a clear error."""
    if not data:
        raise UnreadableImage("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = opened.size
            if width < 1 or height < 1:
                raise UnreadableImage("the image has no pixels")
            if width * height > max_pixels:
                raise ImageTooLarge(
                    f"the image is {width}x{height} pixels, more than the {max_pixels} allowed"
                )
            fmt = str(opened.format or "")
            taken, camera = _exif(opened)
            opened.load()  # decodes the first frame; a truncated file fails here
            image = ImageOps.exif_transpose(opened)
            rgb = image.convert("RGB") if image.mode != "RGB" else image
            colours = dominant_colours(image)
    except (UnreadableImage, ImageTooLarge):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own bomb check runs inside `Image.open`, before ours: past its limit it
        # warns (made an error above), past twice that it raises. Both are too many pixels.
        raise ImageTooLarge("the image has more pixels than allowed") from exc
    except UnidentifiedImageError as exc:
        raise UnreadableImage("the bytes are not a PNG, JPEG, GIF or WebP image") from exc
    except (OSError, ValueError, SyntaxError, EOFError, Warning) as exc:
        raise UnreadableImage("the image could not be decoded (truncated or corrupt file)") from exc
    return rgb, ImageFacts(fmt, width, height, colours, taken, camera)


def thumbnail_data_url(image: Image.Image, side: int = 96) -> str:
    """A small JPEG of the image as a `data:` URL (a few kB): what the console shows of an
    uploaded image once its bytes are gone."""
    small = image.convert("RGB")
    small.thumbnail((side, side))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=70, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
