from django.urls import path

from shoploop.communities import leader_views, views

app_name = "communities"
urlpatterns = [
    path("c/", views.community_list, name="list"),
    path("c/new/", views.community_create, name="create"),
    path("c/invite/<str:code>/", views.invite_landing, name="invite"),
    path("c/<str:public_id>/", views.community_detail, name="detail"),
    path("c/<str:public_id>/edit/", views.community_edit, name="edit"),
    path("c/<str:public_id>/members/", views.community_members, name="members"),
    path("c/<str:public_id>/leaders/", leader_views.community_leaders, name="leaders"),
    path("c/<str:public_id>/leaders/appoint/", leader_views.leader_appoint, name="leader_appoint"),
    path(
        "c/<str:public_id>/leaders/<str:user_id>/revoke/",
        leader_views.leader_revoke,
        name="leader_revoke",
    ),
    path("c/<str:public_id>/moderation/", views.community_moderation, name="moderation"),
    path("c/<str:public_id>/invites/", views.invite_create, name="invite_create"),
    path(
        "c/<str:public_id>/invites/<str:invite_id>/revoke/",
        views.invite_revoke,
        name="invite_revoke",
    ),
    path(
        "c/<str:public_id>/members/<str:user_id>/<slug:action>/",
        views.member_action,
        name="member_action",
    ),
    path("c/<str:public_id>/<slug:action>/", views.community_action, name="action"),
]
