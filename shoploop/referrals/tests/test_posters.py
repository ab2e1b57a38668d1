"""Posters: a PNG with the picture, price, deal state, sharer and a QR of the short link, drawn
with a CJK font, cached per link and redrawn when the deal changes."""

import io

import pytest
from PIL import Image

from shoploop.referrals import posters, services
from shoploop.referrals.models import ShareLink

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


def test_the_font_is_a_cjk_font_that_draws_chinese():
    path = posters.find_cjk_font()
    assert posters._looks_cjk(path) or path in posters.KNOWN_FONT_PATHS
    font = posters._font(40)
    # A font without Chinese draws "中" as the same box as any other missing glyph.
    assert font.getmask("中").getbbox() != font.getmask("\ufffe").getbbox()


def test_a_missing_font_is_a_clear_error(settings):
    posters.find_cjk_font.cache_clear()
    settings.REFERRALS_POSTER_FONT = "/nowhere/font.ttc"
    try:
        with pytest.raises(posters.PosterFontMissing) as failure:
            posters.find_cjk_font()
        assert failure.value.code == "poster_font_missing"
    finally:
        posters.find_cjk_font.cache_clear()


def test_poster_is_a_png_cached_per_link_and_redrawn_when_the_deal_changes(
    client, product_link, sku
):
    response = client.get(f"/s/{product_link.code}/poster.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.size == (posters.WIDTH, posters.HEIGHT)
    product_link.refresh_from_db()
    first = product_link.poster_name
    assert first.startswith(f"posters/{product_link.code}-")
    client.get(f"/s/{product_link.code}/poster.png")
    product_link.refresh_from_db()
    assert product_link.poster_name == first  # cached
    type(sku).objects.filter(pk=sku.pk).update(price_fen=4900)  # the deal changed
    client.get(f"/s/{product_link.code}/poster.png")
    product_link.refresh_from_db()
    assert product_link.poster_name != first


def test_group_poster_says_how_many_more_people(make_user, sku):
    from shoploop.referrals.targets import Target

    target = Target("group", "x", "手冲咖啡豆", "", "/", None, 3900, "还差 2 人")
    png = posters.draw_poster(target=target, sharer_name="王芳", short_url="http://t/s/abc/")
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_a_poster_of_a_forged_code_is_404(client):
    assert client.get("/s/forged1234/poster.png").status_code == 404
    assert not ShareLink.objects.exists()


def test_poster_of_a_gone_target_is_404(client, product_link, sku):
    type(sku.product).objects.filter(pk=sku.product.pk).update(is_published=False)
    assert client.get(f"/s/{product_link.code}/poster.png").status_code == 404


def test_services_link_reused_for_poster(promoter, sku):
    link = services.create_share_link(
        sharer=promoter, kind="product", target_public_id=sku.product.public_id
    )
    stored = posters.poster_for(link=link, short_url="http://testserver/s/x/")
    assert stored.read(8) == b"\x89PNG\r\n\x1a\n"
