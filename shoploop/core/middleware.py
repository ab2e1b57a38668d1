"""Request hygiene that every endpoint needs, applied once at the door."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

NUL = "\x00"


def _text_has_nul(values) -> bool:
    return any(NUL in key or any(NUL in v for v in vals) for key, vals in values.lists())


def _body_has_nul(request) -> bool:
    content_type = request.content_type or ""
    if content_type.startswith("multipart/") or content_type.startswith(
        "application/x-www-form-urlencoded"
    ):
        return _text_has_nul(request.POST)  # uploaded files may contain NUL bytes legitimately
    body = request.body
    # JSON can carry NUL only as the escape \u0000 (a raw NUL is invalid JSON anyway).
    return b"\x00" in body or b"\\u0000" in body.lower()


class RejectNulCharactersMiddleware:
    """No person types a NUL character and PostgreSQL text cannot store one: such input is refused
    with a 400 before any view runs, instead of failing deep inside a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path or _text_has_nul(request.GET) or _body_has_nul(request):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request):
        message = _("The request contains characters that are not allowed.")
        if request.path.startswith("/api/"):
            body = {"error": {"code": "invalid_characters", "message": message}}
            return JsonResponse(body, status=400, json_dumps_params={"ensure_ascii": False})
        return HttpResponseBadRequest(message)
