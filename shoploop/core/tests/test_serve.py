"""`manage.py serve` hands uvicorn the WebSocket settings."""

import sys

import pytest
from django.core.management import call_command

from shoploop.core.management.commands import serve


@pytest.fixture
def uvicorn_calls(monkeypatch, settings):
    calls = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(serve.gc, "freeze", lambda: calls.append("frozen"))
    settings.EMBEDDED = False  # no embedded scheduler thread
    return calls


def test_websocket_compression_is_off_by_default(uvicorn_calls):
    call_command("serve", port=8123)
    assert uvicorn_calls[1]["ws_per_message_deflate"] is False
    assert uvicorn_calls[1]["port"] == 8123


def test_start_up_objects_are_frozen_before_serving(uvicorn_calls):
    call_command("serve")
    assert uvicorn_calls[0] == "frozen"
    assert "shoploop.asgi" in sys.modules


def test_websocket_compression_follows_the_setting(uvicorn_calls, settings):
    settings.WS_PER_MESSAGE_DEFLATE = True
    call_command("serve")
    assert uvicorn_calls[1]["ws_per_message_deflate"] is True
