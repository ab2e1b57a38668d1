from django.urls import path

from shoploop.deals.bargains import views

app_name = "deals_bargains"
urlpatterns = [
    path("bargains/mine/", views.mine, name="mine"),
    path("bargains/c/<str:campaign_id>/start/", views.start, name="start"),
    path("bargains/<str:bargain_id>/", views.detail, name="detail"),
    path("bargains/<str:bargain_id>/help/", views.help_view, name="help"),
    path("bargains/<str:bargain_id>/verify/", views.verify, name="verify"),
    path("bargains/<str:bargain_id>/buy/", views.buy_view, name="buy"),
    path("console/bargains/", views.console, name="console"),
    path("console/bargains/new/", views.console_new, name="console_new"),
    path("console/bargains/<str:campaign_id>/", views.console_detail, name="console_detail"),
    path("console/bargains/<str:campaign_id>/counts/", views.console_counts, name="console_counts"),
    path(
        "console/bargains/<str:campaign_id>/<str:action>/",
        views.console_action,
        name="console_action",
    ),
]
