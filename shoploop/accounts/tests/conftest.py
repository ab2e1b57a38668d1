from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from shoploop.accounts import services
from shoploop.accounts.selectors import latest_debug_code
from shoploop.core import clock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The console provider keeps codes in the cache; each test starts without any."""
    cache.clear()
    yield
    cache.clear()


def at(seconds: float):
    """Freeze the clock ``seconds`` after T0."""
    return clock.frozen_at(T0 + timedelta(seconds=seconds))


@pytest.fixture(autouse=True)
def _english(english):
    """This app's tests read English messages (the root conftest's ``english``)."""


@pytest.fixture
def send_code(db):
    """``send_code(phone, ip=..., at_seconds=...)`` → the raw code the console provider sent."""

    def send(phone: str, *, ip: str | None = "10.0.0.1", at_seconds: float = 0) -> str:
        with at(at_seconds):
            otp = services.send_code(phone=phone, ip=ip)
        return latest_debug_code(otp.phone)

    return send
