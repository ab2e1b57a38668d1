"""Post text: a small, safe Markdown (paragraphs, emphasis, links, lists, quotes, code).

Text with HTML in it is refused when it is written (``check_no_markup``), and the rendering
always passes through nh3, an allow-list sanitiser, so nothing typed can reach a page as HTML.
"""

import re

import markdown
import nh3
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed
from shoploop.core.text import clean_text

ALLOWED_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# A Markdown link or autolink whose target is script or data, e.g. [x](javascript:alert(1)).
_SCRIPT_LINK = re.compile(r"(\]\(\s*<?|<)\s*(javascript|vbscript|data)\s*:", re.IGNORECASE)


def check_no_markup(value: str, *, field: str) -> None:
    """HTML (tags, comments) or script links in what a person typed: a 422, nothing stored."""
    if nh3.is_html(value) or _SCRIPT_LINK.search(value):
        raise ValidationFailed(
            _("HTML and scripts are not allowed; write plain text or Markdown."),
            code="html_not_allowed",
            fields={field: "html_not_allowed"},
        )


def clean_user_text(value, *, field: str, max_length: int, required: bool = False) -> str:
    """Trimmed, within limits, and free of HTML and script links."""
    value = clean_text(value, field=field, max_length=max_length, required=required)
    check_no_markup(value, field=field)
    return value


def render_markdown(source: str) -> str:
    """Render post text to sanitised HTML (links get rel="nofollow noopener noreferrer")."""
    if not source.strip():
        return ""
    # Anything that looks like a tag is escaped first: Markdown would pass raw HTML through.
    escaped = source.replace("&", "&amp;").replace("<", "&lt;")
    html = markdown.markdown(escaped, extensions=["sane_lists", "nl2br"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )
