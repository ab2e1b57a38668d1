"""Websocket routes; apps with realtime consumers add theirs here."""

websocket_urlpatterns: list = []
