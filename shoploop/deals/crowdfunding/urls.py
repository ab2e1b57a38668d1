from django.urls import path

from shoploop.deals.crowdfunding import views

app_name = "deals_crowdfunding"
urlpatterns = [
    path("crowdfunding/", views.project_list, name="list"),
    path("crowdfunding/mine/", views.mine, name="mine"),
    path("crowdfunding/<str:project_id>/", views.project_page, name="project"),
    path("crowdfunding/tiers/<str:tier_id>/back/", views.back_tier, name="back"),
    path("crowdfunding/pledges/<str:pledge_id>/cancel/", views.cancel, name="cancel"),
    path("crowdfunding/pledges/<str:pledge_id>/pay/", views.pay, name="pay"),
    path("console/crowdfunding/", views.console, name="console"),
    path("console/crowdfunding/new/", views.console_create, name="create"),
    path("console/crowdfunding/<str:project_id>/", views.console_project, name="console_project"),
    path(
        "console/crowdfunding/<str:project_id>/counts/", views.console_counts, name="console_counts"
    ),
    path(
        "console/crowdfunding/<str:project_id>/images/",
        views.console_image_add,
        name="console_image_add",
    ),
    path(
        "console/crowdfunding/images/<str:image_id>/remove/",
        views.console_image_remove,
        name="console_image_remove",
    ),
    path("console/crowdfunding/<str:project_id>/updates/", views.post_update, name="post_update"),
    path("console/crowdfunding/<str:project_id>/pause/", views.pause_project, name="pause_project"),
    path(
        "console/crowdfunding/<str:project_id>/cancel/", views.cancel_project, name="cancel_project"
    ),
]
