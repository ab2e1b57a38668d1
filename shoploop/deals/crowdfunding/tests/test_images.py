"""Project images: the product photos' pipeline (checked, resized, re-encoded), owner only, at most
nine, in the console, on the project page and in the API."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shoploop.catalog.tests.conftest import image_bytes
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.testing import race
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import MAX_PROJECT_IMAGES, ProjectImage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

API = "/api/v1/deals/crowdfunding"
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def upload(fmt="PNG", size=(1600, 900), name=None):
    return SimpleUploadedFile(
        name or f"photo.{fmt.lower()}", image_bytes(fmt, size), content_type=CONTENT_TYPES[fmt]
    )


BAD_FILES = {
    "php": SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>", "image/png"),
    "pdf": SimpleUploadedFile("doc.pdf", b"%PDF-1.4 hello", "application/pdf"),
    "empty": SimpleUploadedFile("empty.jpg", b"", "image/jpeg"),
    "gif": SimpleUploadedFile("a.gif", image_bytes("GIF", (10, 10)), "image/gif"),
    "too-big": SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024), "image/png"),
}
BAD_CODES = {
    "php": "image_not_image",
    "pdf": "image_not_image",
    "empty": "image_not_image",
    "gif": "image_not_image",
    "too-big": "image_too_large",
}


def _fresh(name):
    file = BAD_FILES[name]
    file.seek(0)
    return file


def _stored_files() -> set[str]:
    root = Path(default_storage.location) / "crowdfunding"
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


# --- services ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_images_are_resized_and_reencoded(project, fmt):
    image = services.add_project_image(
        project=project, actor=project.shop.owner, upload=upload(fmt, (2400, 1600))
    )
    assert (image.width, image.height) == (1200, 800)
    assert image.image.name.startswith("crowdfunding/")
    with Image.open(image.image.path) as stored:
        assert stored.size == (1200, 800)
        assert stored.format in ("JPEG", "PNG")
    assert image.position == 0


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_are_refused_and_nothing_is_written(project, name):
    before = _stored_files()
    with pytest.raises(ValidationFailed) as error:
        services.add_project_image(project=project, actor=project.shop.owner, upload=_fresh(name))
    assert error.value.code == BAD_CODES[name]
    assert "image" in error.value.fields
    assert not ProjectImage.objects.exists()
    assert _stored_files() == before


def test_only_the_creator_adds_and_removes(project, other_merchant, buyer):
    for intruder in (other_merchant, buyer):
        with pytest.raises(PermissionDenied):
            services.add_project_image(project=project, actor=intruder, upload=upload())
    with pytest.raises(NotAuthenticated):
        services.add_project_image(project=project, actor=None, upload=upload())
    image = services.add_project_image(project=project, actor=project.shop.owner, upload=upload())
    with pytest.raises(PermissionDenied):
        services.remove_project_image(image=image, actor=other_merchant)
    assert ProjectImage.objects.count() == 1


def test_at_most_nine_images_and_removal_deletes_the_file(project, committed):
    owner = project.shop.owner
    images = [
        services.add_project_image(project=project, actor=owner, upload=upload(size=(20, 20)))
        for _ in range(MAX_PROJECT_IMAGES)
    ]
    assert [image.position for image in images] == list(range(MAX_PROJECT_IMAGES))
    with pytest.raises(ValidationFailed) as error:
        services.add_project_image(project=project, actor=owner, upload=upload(size=(20, 20)))
    assert error.value.code == "too_many_images"
    assert project.images.count() == MAX_PROJECT_IMAGES
    path = Path(images[0].image.path)
    assert path.exists()
    with committed():
        services.remove_project_image(image=images[0], actor=owner)
    assert not path.exists()
    assert project.images.count() == MAX_PROJECT_IMAGES - 1
    with pytest.raises(NotFound):
        services.remove_project_image(image=images[0], actor=owner)
    again = services.add_project_image(project=project, actor=owner, upload=upload(size=(20, 20)))
    assert again.position == MAX_PROJECT_IMAGES  # after the last one


def test_a_closed_project_takes_no_new_images_but_may_drop_them(project, committed):
    owner = project.shop.owner
    image = services.add_project_image(project=project, actor=owner, upload=upload())
    with committed():
        services.cancel_project(project=project, actor=owner)
    with pytest.raises(Conflict) as error:
        services.add_project_image(project=project, actor=owner, upload=upload())
    assert error.value.code == "project_closed"
    services.remove_project_image(image=image, actor=owner)
    assert not ProjectImage.objects.exists()


# --- API --------------------------------------------------------------------------------------


def _auth(make_token, user):
    return {"Authorization": f"Bearer {make_token(user)}"}


def test_api_upload_list_and_remove(client, api, make_token, project, other_merchant):
    owner = project.shop.owner
    url = f"{API}/projects/{project.public_id}/images"
    created = client.post(
        url, {"image": upload("JPEG", (1300, 100))}, headers=_auth(make_token, owner)
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["width"], body["height"], body["position"]) == (1200, 92, 0)
    image = ProjectImage.objects.get()
    assert body["id"] == image.public_id
    assert body["url"] == image.image.url and body["url"].startswith("/media/crowdfunding/")

    detail = api.get(f"/deals/crowdfunding/projects/{project.public_id}").json()
    assert [i["url"] for i in detail["images"]] == [image.image.url]
    listed = api.get("/deals/crowdfunding/projects").json()["results"]
    assert listed[0]["images"][0]["id"] == image.public_id
    assert client.get(image.image.url).status_code == 200  # served in embedded mode

    # Not the creator: 403 and nothing changes.
    refused = client.post(url, {"image": upload()}, headers=_auth(make_token, other_merchant))
    assert refused.status_code == 403
    intruder = _auth(make_token, other_merchant)
    gone = client.delete(f"{API}/images/{image.public_id}", headers=intruder)
    assert gone.status_code == 403
    assert ProjectImage.objects.count() == 1

    deleted = client.delete(f"{API}/images/{image.public_id}", headers=_auth(make_token, owner))
    assert deleted.status_code == 204
    assert not ProjectImage.objects.exists()
    missing = client.delete(f"{API}/images/{image.public_id}", headers=_auth(make_token, owner))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "image_not_found"


@pytest.mark.parametrize("name", ["php", "too-big"])
def test_api_bad_file_is_a_clear_error(client, make_token, project, name):
    url = f"{API}/projects/{project.public_id}/images"
    response = client.post(
        url, {"image": _fresh(name)}, headers=_auth(make_token, project.shop.owner)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == BAD_CODES[name]
    assert error["message"] in (
        "Upload a JPEG, PNG or WebP image.",
        "The image must be at most 5 MB and 50 megapixels.",
    )
    assert not ProjectImage.objects.exists()


def test_api_upload_needs_a_token(client, project):
    url = f"{API}/projects/{project.public_id}/images"
    assert client.post(url, {"image": upload()}).status_code == 401
    assert not ProjectImage.objects.exists()


# --- pages ------------------------------------------------------------------------------------


def _url(name, *args):
    return reverse(f"deals_crowdfunding:{name}", args=args)


def test_console_upload_gallery_and_remove(client, project):
    client.force_login(project.shop.owner)
    console = _url("console_project", project.public_id)
    html = client.get(console).content.decode()
    assert 'enctype="multipart/form-data"' in html and "No images yet" in html

    added = client.post(
        _url("console_image_add", project.public_id), {"image": upload()}, follow=True
    )
    assert added.redirect_chain[-1][0] == console
    assert "Image added." in added.content.decode()
    image = ProjectImage.objects.get()
    assert image.image.url in added.content.decode()

    page = client.get(_url("project", project.public_id)).content.decode()
    assert 'data-testid="project-gallery"' in page
    assert f'src="{image.image.url}"' in page
    assert f'width="{image.width}" height="{image.height}"' in page

    removed = client.post(_url("console_image_remove", image.public_id), follow=True)
    assert "Image removed." in removed.content.decode()
    assert not ProjectImage.objects.exists()
    assert (
        'data-testid="project-gallery"'
        not in client.get(_url("project", project.public_id)).content.decode()
    )


@pytest.mark.parametrize("name", ["php", "too-big"])
def test_console_bad_file_shows_the_error_and_changes_nothing(client, project, name):
    client.force_login(project.shop.owner)
    response = client.post(
        _url("console_image_add", project.public_id), {"image": _fresh(name)}, follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "Upload a JPEG, PNG or WebP image." in html
        or "The image must be at most 5 MB and 50 megapixels." in html
    )
    assert not ProjectImage.objects.exists()
    nothing = client.post(_url("console_image_add", project.public_id), {}, follow=True)
    assert "Choose an image to upload." in nothing.content.decode()
    assert not ProjectImage.objects.exists()


def test_console_images_are_the_creators_only(client, project, other_merchant):
    image = services.add_project_image(project=project, actor=project.shop.owner, upload=upload())
    client.force_login(other_merchant)
    add = client.post(_url("console_image_add", project.public_id), {"image": upload()})
    assert add.status_code == 403
    remove = client.post(_url("console_image_remove", image.public_id))
    assert remove.status_code == 403
    assert list(ProjectImage.objects.all()) == [image]
    assert client.get(_url("console_image_add", project.public_id)).status_code == 405


# --- PostgreSQL: uploads racing each other ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_at_most_nine_images_under_concurrent_uploads(project):
    owner = project.shop.owner
    payloads = [image_bytes("PNG", (30, 30)) for _ in range(14)]

    def add(i):
        file = SimpleUploadedFile(f"{i}.png", payloads[i], content_type="image/png")
        return services.add_project_image(project=project, actor=owner, upload=file)

    outcomes = race(add, 14)
    added = [o for o in outcomes if isinstance(o, ProjectImage)]
    refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert len(added) == MAX_PROJECT_IMAGES
    assert len(refused) == 14 - MAX_PROJECT_IMAGES
    assert {o.code for o in refused} == {"too_many_images"}
    assert project.images.count() == MAX_PROJECT_IMAGES
    assert sorted(project.images.values_list("position", flat=True)) == list(
        range(MAX_PROJECT_IMAGES)
    )
