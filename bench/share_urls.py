"""The project's URLs plus one trivial view, for ``bench.share``'s web processes only: the
baseline runs on the same servers, middleware and connection pool as the share link. Like
``bench.flash_sale``'s trivial GET it does one indexed read (the link by its code) and answers
a few bytes; ``/bench/nothing/`` answers without touching the database.

``/bench/raw-visit/<code>/`` is the fair baseline for the link: the same reads and the same rows
written as ``referrals.services.record_visit`` (the visit and its outbox event),
in plain SQL in one transaction, and the same redirect with the same signed cookie."""

import json

from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path

from shoploop.core.client_ip import client_ip
from shoploop.referrals.handlers import VISIT_COOKIE, VISIT_COOKIE_SALT
from shoploop.referrals.models import ShareLink
from shoploop.referrals.services import hash_ip
from shoploop.urls import (  # noqa: F401  (the error handlers, as the project's)
    handler400,
    handler403,
    handler404,
    handler500,
)
from shoploop.urls import urlpatterns as project_urlpatterns


def trivial(request, code):
    found = ShareLink.objects.filter(code=code).values_list("pk", flat=True).first()
    return HttpResponse("ok" if found else "no", content_type="text/plain")


_LINK = """
SELECT l.id, l.target_public_id, l.kind, u.public_id FROM referrals_sharelink l
JOIN accounts_user u ON u.id = l.sharer_id WHERE l.code = %s
"""
_PRODUCT = "SELECT public_id FROM catalog_product WHERE public_id = %s AND is_published"
_VISIT = """
INSERT INTO referrals_sharevisit (link_id, visitor_id, signed_up, ip_hash, created_at)
VALUES (%s, NULL, false, %s, now()) RETURNING id
"""
_EVENT = """
INSERT INTO core_outboxevent (name, aggregate, payload, occurred_at, next_attempt_at,
delivered_at) VALUES ('referrals.link.visited', %s, %s::jsonb, now(), now(), now())
"""


def raw_visit(request, code):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LINK, [code])
        link_id, target, kind, sharer = cursor.fetchone()
        cursor.execute(_PRODUCT, [target])
        cursor.fetchone()
        cursor.execute(_VISIT, [link_id, hash_ip(client_ip(request))])
        visit_id = cursor.fetchone()[0]
        payload = {
            "link_public_id": code,
            "sharer_public_id": sharer,
            "visitor_public_id": "",
            "kind": kind,
            "target_public_id": target,
        }
        cursor.execute(_EVENT, [f"referrals.link:{code}", json.dumps(payload)])
    response = HttpResponseRedirect(f"/p/{target}/")
    response.set_signed_cookie(
        VISIT_COOKIE, str(visit_id), salt=VISIT_COOKIE_SALT, httponly=True, samesite="Lax"
    )
    return response


def nothing(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/<str:code>/", trivial),
    path("bench/nothing/", nothing),
    path("bench/raw-visit/<str:code>/", raw_visit),
    *project_urlpatterns,
]
