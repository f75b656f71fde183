"""User text: Markdown rendering and HTML sanitising. The only module that imports bleach."""

from __future__ import annotations

import re
import unicodedata

import bleach
from bleach.linkifier import DEFAULT_CALLBACKS
from markdown_it import MarkdownIt
from markupsafe import Markup

#: Bump when the allowlist changes, so stored HTML can be re-sanitised.
#: 2: headings and tables (proposals carry cost-sharing tables and sections).
SANITIZER_VERSION = 2

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
    | {"h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
_REL = "nofollow noopener ugc"

# Control characters other than tab/newline, and invisible format characters
# (zero-width spaces and joiners, bidi overrides) that can disguise text.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("table").disable(["image"])


def clean_text(value: str) -> str:
    """Normalise user text: NFC, no control or invisible characters, unified newlines."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _INVISIBLE.sub("", value)


def _set_rel(attrs: dict, new: bool = False) -> dict:
    attrs[(None, "rel")] = _REL
    return attrs


def clean_html(html: str) -> str:
    """Sanitise HTML against the allowlist; links get rel="nofollow noopener ugc"."""
    cleaned = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    return bleach.linkify(
        cleaned, callbacks=[*DEFAULT_CALLBACKS, _set_rel], skip_tags={"pre", "code"}
    )


_TOP_HEADING = re.compile(r"<(/?)h1>")


def render_markdown(source: str) -> str:
    """Render Markdown (raw HTML disabled) to sanitised HTML; `#` headings become h2, below
    the page's own title."""
    return clean_html(_TOP_HEADING.sub(r"<\1h2>", _markdown.render(clean_text(source))))


def plain_text(html: str | None, limit: int | None = None) -> str:
    """Return the text of HTML that `clean_html` produced, tags dropped and entities decoded
    (to be escaped again where it is shown), cut to `limit` characters with an ellipsis."""
    rv = Markup(html or "").striptags()  # noqa: S704 (read as text, never marked safe)
    return rv if limit is None else shorten(rv, limit)


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
