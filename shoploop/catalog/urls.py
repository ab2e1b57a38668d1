from django.urls import path

from shoploop.catalog import views

app_name = "catalog"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("shops/apply/", views.shop_apply, name="shop_apply"),
    path("shop/<str:shop_id>/", views.shop_detail, name="shop"),
    path("shop/<str:shop_id>/follow/", views.follow_shop, name="follow_shop"),
    path("shop/<str:shop_id>/unfollow/", views.unfollow_shop, name="unfollow_shop"),
    path("p/<str:product_id>/", views.product_detail, name="product"),
    path("console/", views.console, name="console"),
    path("console/shop/", views.console_shop, name="console_shop"),
    path("console/products/new/", views.console_product_new, name="console_product_new"),
    path("console/products/<str:product_id>/", views.console_product, name="console_product"),
    path(
        "console/products/<str:product_id>/publish/",
        views.console_product_publish,
        name="console_product_publish",
    ),
    path(
        "console/products/<str:product_id>/unpublish/",
        views.console_product_unpublish,
        name="console_product_unpublish",
    ),
    path(
        "console/products/<str:product_id>/images/",
        views.console_image_add,
        name="console_image_add",
    ),
    path(
        "console/images/<str:image_id>/cover/",
        views.console_image_cover,
        name="console_image_cover",
    ),
    path(
        "console/images/<str:image_id>/remove/",
        views.console_image_remove,
        name="console_image_remove",
    ),
    path("console/products/<str:product_id>/skus/", views.console_sku_add, name="console_sku_add"),
    path("console/skus/<str:sku_id>/", views.console_sku_edit, name="console_sku_edit"),
    path("console/skus/<str:sku_id>/stock/", views.console_stock_adjust, name="console_stock"),
]
