"""Pages answer a service's "not found", "not yours" and "sign in first" the way the site does."""

from django.contrib.auth.views import redirect_to_login

from shoploop.core.errors import NotAuthenticated, NotFound, PermissionDenied
from shoploop.web import views


class DomainErrorPagesMiddleware:
    """A page view need not catch ``NotFound`` / ``PermissionDenied`` / ``NotAuthenticated``: an
    uncaught one becomes the 404 or 403 page, or the sign-in page. (The API has its own handler.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return views.page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return views.permission_denied(request, exception)
        if isinstance(exception, NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        return None
