from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from shoploop.accounts.views import admin_sign_in
from shoploop.api import api

urlpatterns = [
    # Operators sign in with their phone and a one-time code: the admin's password form is
    # replaced (matched before the admin's own login URL, which keeps its name for reverse()).
    path("admin/login/", admin_sign_in),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Each app owns its own URL prefixes (accounts/ and u/, c/, p/ shop/ console/ search/).
    path("", include("shoploop.accounts.urls")),
    path("", include("shoploop.communities.urls")),
    path("", include("shoploop.catalog.urls")),
    path("", include("shoploop.ledger.urls")),
    path("", include("shoploop.orders.urls")),
    path("", include("shoploop.coupons.urls")),
    path("", include("shoploop.crowdtasks.urls")),
    path("", include("shoploop.referrals.urls")),
    path("", include("shoploop.deals.urls")),
    path("", include("shoploop.deals.groups.urls")),
    path("", include("shoploop.deals.bargains.urls")),
    path("", include("shoploop.deals.crowdfunding.urls")),
    path("", include("shoploop.deals.flash.urls")),
    path("", include("shoploop.notifications.urls")),
    path("", include("shoploop.chat.urls")),
    path("", include("shoploop.content.urls")),
    path("", include("shoploop.ideas.urls")),
    path("", include("shoploop.insights.urls")),
    path("", include("shoploop.web.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns.append(
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )

handler400 = "shoploop.web.views.bad_request"
handler403 = "shoploop.web.views.permission_denied"
handler404 = "shoploop.web.views.page_not_found"
handler500 = "shoploop.web.views.server_error"
