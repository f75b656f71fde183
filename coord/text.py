"""User text: Markdown rendering and HTML sanitising. The only module that imports the
sanitiser (nh3, the Rust ammonia library; bleach, its predecessor here, is no longer
maintained)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

#: Bump when the allowlist or the sanitiser changes, so stored HTML is re-sanitised
#: (`flask coord resanitise`).
#: 2: headings and tables (proposals carry cost-sharing tables and sections).
#: 3: nh3 replaces bleach; bare links are found by the Markdown renderer.
SANITIZER_VERSION = 3

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
    | {"h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES = {"a": frozenset({"href", "title"})}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
_REL = "nofollow noopener ugc"

# Control characters other than tab/newline, and invisible format characters
# (zero-width spaces and joiners, bidi overrides) that can disguise text.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(ALLOWED_PROTOCOLS),
    strip_comments=True,
    link_rel=_REL,
)

# A bare web address in text: http(s):// or www., up to a space, a quote, an angle bracket
# or CJK punctuation (Chinese text runs on without spaces); trailing punctuation stays text.
_BARE_LINK = re.compile(
    r"(?<![A-Za-z0-9_/@.])(?:https?://|www\.)[^\s<>\"'`\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}*_~"


@dataclass(frozen=True)
class _Link:
    """One bare link found in text (the shape markdown-it's linkify rule reads)."""

    index: int
    last_index: int
    text: str
    url: str
    schema: str | None


class _Linkifier:
    """The subset of linkify-it that markdown-it's ``linkify`` rule calls."""

    def pretest(self, text: str) -> bool:
        return "http" in text.lower() or "www." in text.lower()

    def test(self, text: str) -> bool:
        return bool(self.match(text))

    def match_at_start(self, text: str) -> _Link | None:
        found = self.match(text)
        return found[0] if found and found[0].index == 0 else None

    def match(self, text: str) -> list[_Link]:
        rv = []
        for found in _BARE_LINK.finditer(text):
            link = found[0].rstrip(_TRAILING)
            if link.count("(") > link.count(")") and found[0][len(link) :].startswith(")"):
                link += ")"  # https://zh.wikipedia.org/wiki/Foo_(bar)
            if link.lower().rstrip("/") in {"http:", "https:", "www"}:
                continue
            www = link.lower().startswith("www.")
            rv.append(
                _Link(
                    index=found.start(),
                    last_index=found.start() + len(link),
                    text=link,
                    url="http://" + link if www else link,
                    schema=None if www else link.split(":", 1)[0].lower() + ":",
                )
            )
        return rv


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
_markdown.linkify = _Linkifier()
_markdown.enable(["table", "linkify"]).disable(["image"])


def clean_text(value: str) -> str:
    """Normalise user text: NFC, no control or invisible characters, unified newlines."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _INVISIBLE.sub("", value)


def clean_html(html: str) -> str:
    """Sanitise HTML against the allowlist; links get rel="nofollow noopener ugc"."""
    return _cleaner.clean(html)


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
