"""Uploaded images: opened for real by Pillow (never trusted by name or content type), shrunk and
re-encoded, so nothing else the file carried survives (EXIF with GPS, trailing scripts, polyglots).

One pipeline for avatars, community covers, shop logos and product photos.
"""

import io
import os
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from shoploop.core.errors import ValidationFailed
from shoploop.core.ids import new_public_id

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Far more pixels than any phone photo; refuses decompression bombs before decoding them.
MAX_SOURCE_PIXELS = 50_000_000


@dataclass(frozen=True)
class PreparedImage:
    file: ContentFile
    width: int
    height: int


def prepared_image(
    upload, *, max_width: int, max_height: int | None = None, field: str = "image"
) -> PreparedImage:
    """Check ``upload`` and return a re-encoded image that fits in max_width × max_height.

    Errors are ``ValidationFailed`` with codes ``<field>_required``, ``<field>_too_large`` and
    ``<field>_not_image``; nothing is written.
    """
    if upload is None:
        raise ValidationFailed(
            _("Choose an image to upload."), code=f"{field}_required", fields={field: "required"}
        )
    _check_size(upload, field=field)
    image = _open_checked(upload, field=field)
    image = ImageOps.exif_transpose(image)
    image.thumbnail((max_width, max_height or max_width * 10), Image.Resampling.LANCZOS)
    data, extension = _encode(image)
    return PreparedImage(
        ContentFile(data, name=f"{new_public_id()}.{extension}"), image.width, image.height
    )


def _too_large(field: str) -> ValidationFailed:
    return ValidationFailed(
        _("The image must be at most 5 MB and 50 megapixels."),
        code=f"{field}_too_large",
        fields={field: "too_large"},
    )


def _not_an_image(field: str) -> ValidationFailed:
    return ValidationFailed(
        _("Upload a JPEG, PNG or WebP image."),
        code=f"{field}_not_image",
        fields={field: "not_an_image"},
    )


def _check_size(upload, *, field: str) -> None:
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
    if size > MAX_UPLOAD_BYTES:
        raise _too_large(field)
    if size == 0:
        raise _not_an_image(field)


def _open_checked(upload, *, field: str) -> Image.Image:
    try:
        upload.seek(0)
        with Image.open(upload, formats=ACCEPTED_FORMATS) as probe:
            if probe.width * probe.height > MAX_SOURCE_PIXELS:
                raise _too_large(field)
            probe.verify()  # verify() leaves the image unusable, so it is opened again to decode
        upload.seek(0)
        image = Image.open(upload, formats=ACCEPTED_FORMATS)
        image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _not_an_image(field) from None
    return image


def _encode(image: Image.Image) -> tuple[bytes, str]:
    """Transparent images stay PNG; everything else becomes a JPEG."""
    buffer = io.BytesIO()
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        image.convert("RGBA").save(buffer, format="PNG", optimize=True)
        return buffer.getvalue(), "png"
    image.convert("RGB").save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue(), "jpg"


def save_with_image(instance, content, *, field: str = "image") -> None:
    """Store ``content`` in the instance's image field, then save the row. If the row cannot be
    saved, the stored file is deleted again: no row, no file."""
    image = getattr(instance, field)
    image.save(content.name, content, save=False)
    name, storage = image.name, image.storage
    try:
        instance.save()
    except Exception:
        storage.delete(name)
        raise
