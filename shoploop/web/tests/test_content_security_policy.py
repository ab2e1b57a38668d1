"""Every page carries a Content-Security-Policy that allows scripts and styles from this site
only, and no template has an inline script, style or event handler that such a policy blocks."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the shoploop package
TEMPLATES = sorted(ROOT.glob("**/templates/**/*.html"))

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}")
DATA_SCRIPT = re.compile(r"<script\b[^>]*type=\"application/(ld\+)?json\"", re.IGNORECASE)


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/sign-in/", "/search/?q=tea", "/no-such-page/", "/api/v1/catalog/products"],
)
def test_every_answer_has_a_strict_policy(client, path):
    answer = client.get(path)
    policy = _directives(answer["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in answer["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_signed_in_page_has_the_policy_too(client, user):
    client.force_login(user)
    answer = client.get("/wallet/")
    assert "script-src 'self'" in answer["Content-Security-Policy"]


def test_the_scan_finds_templates():
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("inline <script>", INLINE_SCRIPT),
        ("<style> element", STYLE_ELEMENT),
        ("style attribute", STYLE_ATTRIBUTE),
        ("event handler attribute", EVENT_HANDLER),
        ("javascript: URL", JAVASCRIPT_URL),
    ],
)
def test_no_template_has_inline_code_or_style(name, pattern):
    found = []
    for template in TEMPLATES:
        text = TEMPLATE_COMMENT.sub("", DATA_SCRIPT.sub("", template.read_text()))
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{template.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], name


def test_the_patterns_catch_what_they_should():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js" defer></script>')
    assert STYLE_ATTRIBUTE.search('<p style="color:red">')
    assert EVENT_HANDLER.search('<form onsubmit="return confirm()">')
    assert not EVENT_HANDLER.search('<form data-confirm="Sure?">')
