import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.core.errors import ValidationFailed
from shoploop.core.images import prepared_image


def upload(fmt="PNG", size=(800, 600), mode="RGB", name="x.png"):
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else "red").save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_transparent_images_stay_png_and_fit_the_box():
    prepared = prepared_image(
        upload(mode="RGBA", size=(3000, 1000)), max_width=1200, max_height=1200
    )
    assert prepared.file.name.endswith(".png")
    assert (prepared.width, prepared.height) == (1200, 400)


def test_width_only_limit_keeps_tall_images_tall():
    prepared = prepared_image(upload(size=(400, 3000)), max_width=1600)
    assert (prepared.width, prepared.height) == (400, 3000)


@pytest.mark.parametrize(
    ("file", "code"),
    [
        (SimpleUploadedFile("a.png", b"<script>alert(1)</script>"), "photo_not_image"),
        (SimpleUploadedFile("a.png", b""), "photo_not_image"),
        (upload("GIF", name="a.gif"), "photo_not_image"),
        (SimpleUploadedFile("big.jpg", b"x" * (5 * 1024 * 1024 + 1)), "photo_too_large"),
        (None, "photo_required"),
    ],
)
def test_bad_uploads_are_refused_with_a_field_code(file, code):
    with pytest.raises(ValidationFailed) as caught:
        prepared_image(file, max_width=100, field="photo")
    assert caught.value.code == code
    assert "photo" in caught.value.fields
