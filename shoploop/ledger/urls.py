from django.urls import path

from shoploop.ledger import views

app_name = "ledger"
urlpatterns = [
    path("pay/<str:payment_id>/", views.cashier, name="cashier"),
    path("pay/<str:payment_id>/wechat/", views.wechat_checkout, name="wechat_checkout"),
    path("webhooks/<str:provider>/", views.webhook, name="webhook"),
    path("wallet/", views.wallet, name="wallet"),
]
