from django.urls import path

from shoploop.coupons import views

app_name = "coupons"
urlpatterns = [
    path("coupons/mine/", views.my_coupons, name="mine"),
    path("coupons/<str:coupon_id>/claim/", views.claim, name="claim"),
    path("console/coupons/", views.console_coupons, name="console"),
    path("console/coupons/new/", views.console_coupon_new, name="console_new"),
    path(
        "console/coupons/<str:coupon_id>/pause/",
        views.console_coupon_pause,
        name="console_pause",
    ),
    path(
        "console/coupons/<str:coupon_id>/resume/",
        views.console_coupon_resume,
        name="console_resume",
    ),
]
