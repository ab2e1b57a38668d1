from django.urls import path

from shoploop.orders import address_views, pickup_views, views

app_name = "orders"
urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/lines/<str:sku_id>/", views.cart_update, name="cart_update"),
    path("cart/confirm/", views.cart_confirm, name="confirm"),
    path("cart/checkout/", views.checkout, name="checkout"),
    path("addresses/", address_views.address_list, name="addresses"),
    path("addresses/new/", address_views.address_add, name="address_add"),
    path("addresses/regions/", address_views.address_regions, name="address_regions"),
    path("addresses/<str:address_id>/", address_views.address_edit, name="address_edit"),
    path("addresses/<str:address_id>/delete/", address_views.address_delete, name="address_delete"),
    path(
        "addresses/<str:address_id>/default/",
        address_views.address_default,
        name="address_default",
    ),
    path("orders/", views.order_list, name="list"),
    path("orders/<str:order_id>/", views.order_detail, name="detail"),
    path("orders/<str:order_id>/pay/", views.order_pay, name="pay"),
    path("orders/<str:order_id>/cancel/", views.order_cancel, name="cancel"),
    path("orders/<str:order_id>/receive/", views.order_receive, name="receive"),
    path("orders/<str:order_id>/address/", views.order_change_address, name="change_address"),
    path("orders/<str:order_id>/ship/", views.order_ship, name="ship"),
    path("orders/<str:order_id>/after-sale/", views.after_sale_request, name="after_sale"),
    path("after-sales/<str:after_sale_id>/", views.after_sale_detail, name="after_sale_detail"),
    path(
        "after-sales/<str:after_sale_id>/return/",
        views.after_sale_ship_return,
        name="after_sale_return",
    ),
    path(
        "after-sales/<str:after_sale_id>/confirm-return/",
        views.after_sale_confirm_return,
        name="after_sale_confirm_return",
    ),
    path(
        "after-sales/<str:after_sale_id>/dispute/",
        views.after_sale_dispute,
        name="after_sale_dispute",
    ),
    path(
        "after-sales/<str:after_sale_id>/escalate/",
        views.after_sale_escalate,
        name="after_sale_escalate",
    ),
    path(
        "after-sales/<str:after_sale_id>/accept/", views.after_sale_accept, name="after_sale_accept"
    ),
    path(
        "after-sales/<str:after_sale_id>/reject/", views.after_sale_reject, name="after_sale_reject"
    ),
    path("console/orders/", views.merchant_to_ship, name="merchant_to_ship"),
    path("console/orders/ship/", views.merchant_ship_selected, name="merchant_ship_selected"),
    path("console/orders/packing-list/", views.merchant_packing_list, name="merchant_packing_list"),
    path(
        "console/orders/packing-list.csv",
        views.merchant_packing_list_csv,
        name="merchant_packing_list_csv",
    ),
    path("console/after-sales/", views.merchant_after_sales, name="merchant_after_sales"),
    path("console/pickup/", pickup_views.shop_pickup_settings, name="shop_pickup_settings"),
    path("pickup/", pickup_views.pickup_home, name="pickup_home"),
    path("pickup/new/", pickup_views.pickup_point_new, name="pickup_point_new"),
    path("pickup/earnings/", pickup_views.pickup_earnings, name="pickup_earnings"),
    path("pickup/<str:point_id>/", pickup_views.pickup_point, name="pickup_point"),
    path("pickup/<str:point_id>/edit/", pickup_views.pickup_point_edit, name="pickup_point_edit"),
    path("pickup/<str:point_id>/collect/", pickup_views.pickup_collect, name="pickup_collect"),
]
