"""The project's URLs plus one trivial view, for ``bench.share``'s web processes only: the
baseline runs on the same servers, middleware and connection pool as the share link. Like
``bench.flash_sale``'s trivial GET it does one indexed read (the link by its code) and answers
a few bytes; ``/bench/nothing/`` answers without touching the database."""

from django.http import HttpResponse
from django.urls import path

from shoploop.referrals.models import ShareLink
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


def nothing(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/<str:code>/", trivial),
    path("bench/nothing/", nothing),
    *project_urlpatterns,
]
