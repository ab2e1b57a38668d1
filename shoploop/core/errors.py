"""Domain errors: a stable machine code, an HTTP status, and a translatable message.

Services raise them; the API turns them into ``{"error": {"code", "message", "fields"?}}`` and pages
show the message. Raising one must leave the database unchanged (services raise before writing or
inside their transaction).
"""

from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "domain_error"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(force_str(self.message))

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": force_str(self.message)}
        if self.fields:
            body["fields"] = {key: force_str(value) for key, value in self.fields.items()}
        return body


class ValidationFailed(DomainError):
    code = "invalid"
    status = 422
    default_message = _("Some input is not valid.")


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    default_message = _("Please sign in first.")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("You are not allowed to do that.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("That conflicts with the current state.")


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    default_message = _("Too many attempts; please try again later.")
