"""Image files made in memory for upload tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_upload(fmt="PNG", size=(1000, 800), name=None, exif=False, mode="RGB"):
    buffer = io.BytesIO()
    image = Image.new(mode, size, "red")
    options = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SecretCameraMaker"  # Make
        tags[0x8825] = {2: (39, 54, 0)}  # GPS latitude
        options["exif"] = tags.tobytes()
    image.save(buffer, fmt, **options)
    content_type = {
        "PNG": "image/png",
        "JPEG": "image/jpeg",
        "WEBP": "image/webp",
        "GIF": "image/gif",
        "BMP": "image/bmp",
    }[fmt]
    return SimpleUploadedFile(name or f"pic.{fmt.lower()}", buffer.getvalue(), content_type)
