from django.urls import path

from shoploop.chat import views

app_name = "chat"
urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/shop/", views.shop_inbox, name="shop_inbox"),
    path("messages/c/<str:public_id>/", views.conversation, name="conversation"),
    path("messages/c/<str:public_id>/mute/", views.mute_member, name="mute"),
    path("messages/c/<str:public_id>/close/", views.close_room, name="close"),
    path("messages/c/<str:public_id>/reports/", views.reports, name="reports"),
    path("messages/m/<str:message_id>/remove/", views.remove_message, name="remove"),
    path("messages/m/<str:message_id>/report/", views.report_message, name="report"),
    path("messages/shop/<str:shop_id>/start/", views.start_with_shop, name="start_shop"),
    path("messages/with/<str:user_id>/", views.start_with_person, name="start_direct"),
    path("messages/room/<str:community_id>/", views.room, name="room"),
]
