import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.accounts import services
from shoploop.accounts.models import User
from shoploop.accounts.tests.images import image_upload
from shoploop.core import errors


def test_profile_fields_are_saved_stripped(user):
    services.update_profile(actor=user, display_name="  小王的店  ", bio=" hi\nthere ", locale="en")
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.locale) == ("小王的店", "hi\nthere", "en")


def test_html_in_a_display_name_is_stored_as_given(user):
    services.update_profile(actor=user, display_name="<b>Bob</b><script>x</script>")
    user.refresh_from_db()
    assert user.display_name == "<b>Bob</b><script>x</script>"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"display_name": ""}, "display_name_required"),
        ({"display_name": "   "}, "display_name_required"),
        ({"display_name": "x" * 41}, "display_name_too_long"),
        ({"display_name": "x" * (10 * 1024 * 1024)}, "display_name_too_long"),
        ({"display_name": "bad\x00name"}, "display_name_invalid"),
        ({"display_name": "bell\x07"}, "display_name_invalid"),
        ({"bio": "b" * 281}, "bio_too_long"),
        ({"bio": "b" * (10 * 1024 * 1024)}, "bio_too_long"),
        ({"bio": "esc\x1b[31m"}, "bio_invalid"),
        ({"locale": "fr"}, "locale_invalid"),
        ({"display_name": "fine", "locale": "klingon"}, "locale_invalid"),
    ],
)
def test_bad_profile_input_changes_nothing(user, changes, code):
    before = User.objects.values("display_name", "bio", "locale").get(pk=user.pk)
    with pytest.raises(errors.ValidationFailed) as caught:
        services.update_profile(actor=user, **changes)
    assert caught.value.code == code
    assert User.objects.values("display_name", "bio", "locale").get(pk=user.pk) == before


def test_forty_characters_and_emoji_are_fine(user):
    services.update_profile(actor=user, display_name="👩‍👩‍👧" + "x" * 35)
    user.refresh_from_db()
    assert user.display_name.startswith("👩‍👩‍👧")


def _stored_image(user):
    user.refresh_from_db()
    user.avatar.open("rb")
    try:
        return Image.open(io.BytesIO(user.avatar.read()))
    finally:
        user.avatar.close()


def test_avatar_is_resized_and_reencoded(user):
    upload = image_upload("PNG", size=(1600, 900))
    services.set_avatar(actor=user, upload=upload)
    stored = _stored_image(user)
    assert stored.format == "JPEG"  # an opaque picture is re-encoded, whatever it came as
    assert max(stored.size) == 512 and stored.size == (512, 288)
    assert user.avatar.name.endswith(".jpg") and upload.name not in user.avatar.name


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_metadata_does_not_survive(user, fmt):
    upload = image_upload(fmt, size=(300, 300), exif=True)
    assert b"SecretCameraMaker" in upload.read()
    upload.seek(0)
    services.set_avatar(actor=user, upload=upload)
    user.avatar.open("rb")
    data = user.avatar.read()
    user.avatar.close()
    assert b"SecretCameraMaker" not in data
    assert not _stored_image(user).getexif()


def test_trailing_script_bytes_do_not_survive(user):
    upload = image_upload("PNG", size=(50, 50))
    polyglot = SimpleUploadedFile(
        "x.png", upload.read() + b"<script>alert(1)</script>", "image/png"
    )
    services.set_avatar(actor=user, upload=polyglot)
    user.avatar.open("rb")
    assert b"<script>" not in user.avatar.read()
    user.avatar.close()


def test_a_new_avatar_replaces_the_old_file(user):
    services.set_avatar(actor=user, upload=image_upload())
    first = user.avatar.name
    services.set_avatar(actor=user, upload=image_upload("JPEG"))
    assert user.avatar.name != first
    assert not user.avatar.storage.exists(first)


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("a.png", b"not an image at all", "image/png"), "avatar_not_image"),
        (SimpleUploadedFile("a.txt", b"x" * (10 * 1024 * 1024), "text/plain"), "avatar_too_large"),
        (
            SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"),
            "avatar_not_image",
        ),
        (
            SimpleUploadedFile("a.svg", b"<svg onload='alert(1)'/>", "image/svg+xml"),
            "avatar_not_image",
        ),
        (None, "avatar_required"),
    ],
)
def test_bad_uploads_change_nothing(user, upload, code):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.set_avatar(actor=user, upload=upload)
    assert caught.value.code == code
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.parametrize("fmt", ["GIF", "BMP"])
def test_only_jpeg_png_and_webp_are_accepted(user, fmt):
    with pytest.raises(errors.ValidationFailed) as caught:
        services.set_avatar(actor=user, upload=image_upload(fmt, size=(40, 40)))
    assert caught.value.code == "avatar_not_image"


def test_an_image_over_five_megabytes_is_refused(user):
    big = image_upload("PNG", size=(10, 10))
    oversized = SimpleUploadedFile("big.png", big.read() + b"\0" * (5 * 1024 * 1024), "image/png")
    with pytest.raises(errors.ValidationFailed) as caught:
        services.set_avatar(actor=user, upload=oversized)
    assert caught.value.code == "avatar_too_large"


def test_a_truncated_image_is_refused(user):
    whole = image_upload("JPEG", size=(400, 400)).read()
    cut = SimpleUploadedFile("cut.jpg", whole[: len(whole) // 2], "image/jpeg")
    with pytest.raises(errors.ValidationFailed) as caught:
        services.set_avatar(actor=user, upload=cut)
    assert caught.value.code == "avatar_not_image"
