"""Websocket routes; apps with realtime consumers add theirs here."""

from django.urls import path

from shoploop.chat.routing import websocket_urlpatterns as chat_routes
from shoploop.notifications.consumers import NotificationsConsumer

websocket_urlpatterns: list = [
    *chat_routes,
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
]
