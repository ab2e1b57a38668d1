"""Test helpers other apps' tests use: sign up a brand-new number through the real pages."""

from shoploop.accounts.selectors import latest_debug_code

SIGN_IN = "/accounts/sign-in/"


def sign_up_through_the_pages(client, *, phone: str, next_url: str, display_name: str = ""):
    """Phone → code → first-time step (consent ticked) with ``next_url`` carried along, as a
    browser would post it; returns the last response (a redirect to where the person lands)."""
    client.post(SIGN_IN, {"action": "send", "phone": phone, "next": next_url})
    code = latest_debug_code(phone)
    first_time = {"action": "verify", "phone": phone, "code": code, "next": next_url}
    client.post(SIGN_IN, first_time)
    return client.post(
        SIGN_IN,
        {**first_time, "step": "welcome", "accept_terms": "on", "display_name": display_name},
    )
