from django.urls import path

from shoploop.ideas import views

app_name = "ideas"
urlpatterns = [
    path("ideas/new/", views.propose, name="propose"),
    path("ideas/c/<str:community_id>/", views.community_ideas, name="community"),
    path("ideas/s/<str:shop_id>/", views.shop_ideas, name="shop"),
    path("ideas/s/<str:shop_id>/changelog/", views.changelog, name="changelog"),
    path("ideas/s/<str:shop_id>/wanted/", views.shop_wanted, name="shop_wanted"),
    path("ideas/wanted/<str:wanted_id>/", views.wanted_detail, name="wanted"),
    path("ideas/<str:idea_id>/", views.idea_detail, name="idea"),
    path("ideas/<str:idea_id>/vote/", views.idea_vote, name="vote"),
    path("ideas/<str:idea_id>/comments/", views.idea_comment, name="comment"),
    path("ideas/<str:idea_id>/answer/", views.idea_answer, name="answer"),
    path("console/ideas/", views.console_ideas, name="console"),
    path("console/ideas/wanted/", views.console_wanted_list, name="console_wanted_list"),
    path("console/ideas/wanted/<str:wanted_id>/", views.console_wanted, name="console_wanted"),
]
