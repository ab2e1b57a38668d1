from django.urls import path

from shoploop.deals.flash import views

app_name = "deals_flash"
urlpatterns = [
    path("deals/flash/mine/", views.mine, name="mine"),
    path("deals/flash/<str:sale_id>/", views.sale_detail, name="detail"),
    path("deals/flash/<str:sale_id>/buy/", views.sale_buy, name="buy"),
    path("console/flash-sales/", views.console, name="console"),
    path("console/flash-sales/counts/", views.console_counts, name="console_counts"),
    path(
        "console/flash-sales/<str:sale_id>/<str:action>/",
        views.console_action,
        name="console_action",
    ),
]
