"""Websocket routes; apps with realtime consumers add theirs here."""

from django.urls import path

from shoploop.notifications.consumers import NotificationsConsumer

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
]
