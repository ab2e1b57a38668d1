from django.urls import path

from shoploop.crowdtasks import views

app_name = "crowdtasks"
urlpatterns = [
    path("crowdtasks/mine/", views.my_entries, name="mine"),
    path("crowdtasks/shop/<str:shop_id>/", views.shop_tasks, name="shop"),
    path("crowdtasks/<str:task_id>/", views.task_detail, name="detail"),
    path("crowdtasks/<str:task_id>/enter/", views.enter, name="enter"),
    path("console/crowdtasks/", views.console_tasks, name="console"),
    path("console/crowdtasks/new/", views.console_new, name="console_new"),
    path("console/crowdtasks/<str:task_id>/", views.console_task, name="console_task"),
    path(
        "console/crowdtasks/<str:task_id>/pick/<str:entry_id>/",
        views.console_pick,
        name="console_pick",
    ),
    path("console/crowdtasks/<str:task_id>/cancel/", views.console_cancel, name="console_cancel"),
]
