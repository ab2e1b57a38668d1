from django.urls import path

from shoploop.content import views

app_name = "content"
urlpatterns = [
    path("discussions/<str:public_id>/", views.community_posts, name="community_posts"),
    path("reported/<str:public_id>/", views.community_reports, name="community_reports"),
    path("discussions/<str:public_id>/mute/<str:user_id>/", views.mute, name="mute"),
    path("posts/<str:post_id>/", views.post_detail, name="post"),
    path("posts/<str:post_id>/edit/", views.post_edit, name="post_edit"),
    path("posts/<str:post_id>/comments/", views.comment_create, name="comment_create"),
    path("posts/<str:post_id>/<slug:action>/", views.post_action, name="post_action"),
    path("comments/<str:comment_id>/<slug:action>/", views.comment_action, name="comment_action"),
    path("p/<str:product_id>/reviews/", views.product_reviews, name="product_reviews"),
    path("p/<str:product_id>/favourite/", views.product_favourite, name="product_favourite"),
    path("reviews/write/<str:line_id>/", views.review_write, name="review_write"),
    path("reviews/<str:review_id>/", views.review_detail, name="review"),
    path("reviews/<str:review_id>/<slug:action>/", views.review_action, name="review_action"),
    path("me/to-review/", views.to_review, name="to_review"),
    path("me/favourites/", views.favourites, name="favourites"),
    path("console/reports/", views.operator_reports, name="operator_reports"),
    path("reports/<str:report_id>/<slug:action>/", views.report_action, name="report_action"),
]
