import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.communities import services
from shoploop.communities.models import Community


def image_upload(fmt="PNG", size=(40, 30), name="cover.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 60)).save(buffer, fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}.get(fmt, "")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


@pytest.fixture(autouse=True)
def _english(english):
    """This app's tests read English messages (the root conftest's ``english``)."""


@pytest.fixture
def make_community(make_user):
    def make(*, owner=None, name="Weekend hikers", visibility="public", tags=("hiking",), **kw):
        return services.create_community(
            actor=owner or make_user(), name=name, tags=list(tags), visibility=visibility, **kw
        )

    return make


@pytest.fixture
def owner(make_user):
    return make_user(display_name="群主")


@pytest.fixture
def community(make_community, owner) -> Community:
    return make_community(owner=owner)


@pytest.fixture
def join(db):
    def do(user, community):
        return services.join_community(actor=user, community=community)

    return do


@pytest.fixture
def moderator(make_user, community, owner):
    person = make_user(display_name="版主")
    services.join_community(actor=person, community=community)
    services.promote_moderator(actor=owner, community=community, user=person)
    return person


@pytest.fixture
def member(make_user, community):
    person = make_user(display_name="成员")
    services.join_community(actor=person, community=community)
    return person
