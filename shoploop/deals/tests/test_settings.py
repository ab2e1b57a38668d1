"""The deal durations read from the environment (shoploop/settings.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from shoploop.settings import env_minutes


def test_a_deal_duration_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHOPLOOP_FLASH_PAYMENT_MINUTES", "7")
    assert env_minutes("SHOPLOOP_FLASH_PAYMENT_MINUTES", 5) == 7
    monkeypatch.delenv("SHOPLOOP_FLASH_PAYMENT_MINUTES")
    assert env_minutes("SHOPLOOP_FLASH_PAYMENT_MINUTES", 5) == 5


@pytest.mark.parametrize("value", ["0", "-3", "five", "2.5", ""])
def test_a_duration_that_is_not_a_whole_number_of_minutes_stops_the_start(monkeypatch, value):
    monkeypatch.setenv("SHOPLOOP_GROUP_SEAT_HOLD_MINUTES", value)
    with pytest.raises(ImproperlyConfigured, match="SHOPLOOP_GROUP_SEAT_HOLD_MINUTES"):
        env_minutes("SHOPLOOP_GROUP_SEAT_HOLD_MINUTES", 5)
