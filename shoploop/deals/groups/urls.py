from django.urls import path

from shoploop.deals.groups import views

app_name = "deals_groups"
urlpatterns = [
    path("groups/g/<str:group_id>/", views.group_detail, name="group"),
    path("groups/g/<str:group_id>/join/", views.group_join, name="join"),
    path("groups/c/<str:campaign_id>/open/", views.group_open, name="open"),
    path("groups/mine/", views.mine, name="mine"),
    path("console/groups/", views.console, name="console"),
    path("console/groups/rows/", views.console_rows, name="console_rows"),
    path(
        "console/groups/<str:campaign_id>/<str:action>/",
        views.console_action,
        name="console_action",
    ),
]
