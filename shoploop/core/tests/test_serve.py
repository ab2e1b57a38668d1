"""`manage.py serve` hands uvicorn the WebSocket settings."""

import pytest
from django.core.management import call_command

from shoploop.core.management.commands import serve


@pytest.fixture
def uvicorn_calls(monkeypatch, settings):
    calls = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    settings.EMBEDDED = False  # no embedded scheduler thread
    return calls


def test_websocket_compression_is_off_by_default(uvicorn_calls):
    call_command("serve", port=8123)
    assert uvicorn_calls[0]["ws_per_message_deflate"] is False
    assert uvicorn_calls[0]["port"] == 8123


def test_websocket_compression_follows_the_setting(uvicorn_calls, settings):
    settings.WS_PER_MESSAGE_DEFLATE = True
    call_command("serve")
    assert uvicorn_calls[0]["ws_per_message_deflate"] is True
