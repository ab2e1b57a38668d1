"""Under the Content-Security-Policy the pages still work in a real browser: nothing is refused
(htmx's indicator style, inline handlers), and the static behaviours replace the inline ones."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_pages_raise_no_policy_violations_and_confirmations_still_ask(page):
    page.add_init_script(RECORD_VIOLATIONS)
    for path in ("/", "/accounts/sign-in/", "/search/?q=tea", "/no-such-page/"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.evaluate("() => window.__violations") == [], path
        assert page.evaluate("() => typeof window.htmx") == "object", path

    # A form that asks first (data-confirm).
    page.goto("/")
    page.evaluate(
        """() => {
          const form = document.createElement("form");
          form.method = "get"; form.action = "/search/"; form.dataset.confirm = "Sure?";
          form.innerHTML = '<button id="ask" type="submit">go</button>';
          document.querySelector("main").append(form);
        }"""
    )
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#ask")
    assert asked == ["Sure?"]  # behaviours.js asked, from a static file the policy allows
    assert page.evaluate("() => window.__violations") == []
