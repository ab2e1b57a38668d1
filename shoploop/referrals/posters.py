"""Posters: a PNG the server draws for a share link (Pillow + qrcode + a CJK font).

The picture of what was shared, its title, price and deal state ("还差 2 人"), the sharer's name
and a QR code of the short link. Cached per link in the media storage under a name derived from
everything drawn, so it is redrawn exactly when the deal state (or price, title, language)
changes; the previous drawing is deleted.

Chinese needs a CJK font. ``make system-deps`` installs Debian's ``fonts-noto-cjk``; the font is
found by ``REFERRALS_POSTER_FONT``, then ``fc-match``, then the Debian paths. None → a clear
error (``poster_font_missing``), never boxes instead of characters.
"""

import hashlib
import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import qrcode
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont, ImageOps

from shoploop.core.errors import DomainError
from shoploop.referrals.errors import ShareTargetNotFound
from shoploop.referrals.models import ShareLink
from shoploop.referrals.targets import Target, resolve

WIDTH, HEIGHT = 750, 1180
PICTURE = 750
QR_SIZE = 240
MARGIN = 40
RED = (200, 38, 42)
INK = (34, 34, 34)
MUTED = (110, 110, 110)
KNOWN_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
CJK_FONT_NAMES = ("CJK", "wqy", "Noto Sans SC", "NotoSansSC")


class PosterFontMissing(DomainError):
    code = "poster_font_missing"
    status = 503
    default_message = gettext_lazy(
        "Posters need a Chinese font: install fonts-noto-cjk (make system-deps)."
    )


def _looks_cjk(path: str) -> bool:
    return any(name.lower() in Path(path).name.lower() for name in CJK_FONT_NAMES)


@lru_cache(maxsize=1)
def find_cjk_font() -> str:
    configured = getattr(settings, "REFERRALS_POSTER_FONT", "")
    if configured:
        if not Path(configured).is_file():
            raise PosterFontMissing()
        return configured
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        # fc-match always answers something; DejaVu has no Chinese, so check what it found.
        if found and Path(found).is_file() and _looks_cjk(found):
            return found
    for path in KNOWN_FONT_PATHS:
        if Path(path).is_file():
            return path
    raise PosterFontMissing()


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(find_cjk_font(), size)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _wrap(draw, text: str, font, width: int, lines: int) -> list[str]:
    """Break by characters (Chinese has no spaces), at most ``lines`` lines, with an ellipsis."""
    result, current = [], ""
    for char in text.replace("\n", " "):
        if draw.textlength(current + char, font=font) > width:
            result.append(current)
            current = char
            if len(result) == lines:
                result[-1] = result[-1][:-1] + "…"
                return result
        else:
            current += char
    if current:
        result.append(current)
    return result[:lines]


def _picture(target: Target) -> Image.Image:
    if target.image:
        try:
            with target.image.open("rb") as handle:
                picture = Image.open(handle)
                picture.load()
            return ImageOps.fit(picture.convert("RGB"), (PICTURE, PICTURE))
        except (OSError, ValueError):
            pass  # a missing or broken file: draw the placeholder instead
    picture = Image.new("RGB", (PICTURE, PICTURE), (250, 236, 236))
    draw = ImageDraw.Draw(picture)
    font = _font(64)
    lines = _wrap(draw, target.title, font, PICTURE - 2 * MARGIN, 3)
    for i, line in enumerate(lines):
        draw.text((MARGIN, 260 + i * 84), line, font=font, fill=RED)
    return picture


def _qr(url: str) -> Image.Image:
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("RGB").resize((QR_SIZE, QR_SIZE), Image.NEAREST)


def draw_poster(*, target: Target, sharer_name: str, short_url: str) -> bytes:
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "white")
    canvas.paste(_picture(target), (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = PICTURE + 24
    title_font = _font(36)
    for line in _wrap(draw, target.title, title_font, WIDTH - QR_SIZE - 3 * MARGIN, 2):
        draw.text((MARGIN, y), line, font=title_font, fill=INK)
        y += 46
    if target.price_fen is not None:
        draw.text((MARGIN, y + 8), _yuan(target.price_fen), font=_font(56), fill=RED)
        y += 78
    if target.state_text:
        draw.text((MARGIN, y + 6), target.state_text[:30], font=_font(32), fill=RED)
        y += 46
    shared_by = _("%(name)s shared this with you") % {"name": sharer_name}
    draw.text((MARGIN, HEIGHT - 92), shared_by[:28], font=_font(28), fill=MUTED)
    draw.text((MARGIN, HEIGHT - 52), _("Scan the code to open"), font=_font(24), fill=MUTED)
    canvas.paste(_qr(short_url), (WIDTH - QR_SIZE - MARGIN, HEIGHT - QR_SIZE - MARGIN + 10))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _state_key(*, target: Target, sharer_name: str, short_url: str) -> str:
    raw = f"{target.poster_state}|{sharer_name}|{short_url}|{get_language()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def poster_for(*, link: ShareLink, short_url: str):
    """The link's poster file (drawn now if the cached one shows another state)."""
    target = resolve(link.kind, link.target_public_id)
    if target is None:
        raise ShareTargetNotFound()
    sharer_name = link.sharer.name
    state = _state_key(target=target, sharer_name=sharer_name, short_url=short_url)
    name = f"posters/{link.code}-{state}.png"
    if link.poster_state == state and link.poster_name and default_storage.exists(name):
        return default_storage.open(name, "rb")
    png = draw_poster(target=target, sharer_name=sharer_name, short_url=short_url)
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(png))
    old = link.poster_name
    ShareLink.objects.filter(pk=link.pk).update(poster_name=saved, poster_state=state)
    if old and old != saved and default_storage.exists(old):
        default_storage.delete(old)
    link.poster_name, link.poster_state = saved, state
    return default_storage.open(saved, "rb")
