"""Websocket routes; apps with realtime consumers add theirs here."""

from shoploop.chat.routing import websocket_urlpatterns as chat_routes

websocket_urlpatterns: list = [*chat_routes]
