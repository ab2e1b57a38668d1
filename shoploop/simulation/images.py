"""Small product pictures drawn in memory: a coloured square with the product's first character."""

import colorsys
import io
from functools import lru_cache
from pathlib import Path

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

SIDE = 240
_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
)


@lru_cache(maxsize=1)
def _font():
    for path in _CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size=SIDE // 2)
    return None  # no CJK font on this machine: the square stays plain


def product_picture(title: str, *, hue: float) -> ContentFile:
    """A PNG of a square in ``hue`` (0–1) with ``title``'s first character in white."""
    red, green, blue = (round(channel * 255) for channel in colorsys.hsv_to_rgb(hue, 0.45, 0.85))
    image = Image.new("RGB", (SIDE, SIDE), (red, green, blue))
    font = _font()
    if font is not None and title:
        draw = ImageDraw.Draw(image)
        draw.text((SIDE / 2, SIDE / 2), title[0], fill="white", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="product.png")
