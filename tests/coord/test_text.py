"""The sanitiser: nothing a user types reaches a page as live HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from coord.text import (
    ALLOWED_TAGS,
    clean_html,
    clean_text,
    plain_text,
    render_markdown,
    shorten,
)

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\u200bscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<svg><script>alert(1)</script></svg>",
    '<svg onload="alert(1)">',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil.example></iframe>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<<script>script>alert(1)<</script>/script>",
]


class _LiveHtml(HTMLParser):
    """Collect the tags and attributes a browser would actually see."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def live_html(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Parse `html` like a browser and return its elements with their attributes."""
    parser = _LiveHtml()
    parser.feed(html)
    return parser.tags


def assert_harmless(html: str) -> None:
    """Fail if `html` holds any element, attribute or link scheme outside the allowlist."""
    for tag, attrs in live_html(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs:
            assert name in {"href", "title", "rel"}, (name, html)
            if name == "href":
                # Browsers drop tabs/newlines, then read a scheme only if it is well-formed.
                url = re.sub(r"[\x00-\x20]", "", value or "")
                scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
                assert scheme is None or scheme[1].lower() in {"http", "https", "mailto"}, html


@pytest.mark.parametrize("source", HOSTILE)
def test_markdown_never_yields_live_html(source):
    assert_harmless(render_markdown(source))


@pytest.mark.parametrize("source", HOSTILE)
def test_clean_html_never_yields_live_html(source):
    assert_harmless(clean_html(source))


def test_markdown_keeps_the_allowed_formatting():
    html = render_markdown(
        "**加装电梯** _方案_\n\n- 一楼\n- 五楼\n\n> 引用\n\n`code`\n\n[链接](https://example.org)"
    )
    assert "<strong>加装电梯</strong>" in html and "<em>方案</em>" in html
    assert "<li>一楼</li>" in html and "<blockquote>" in html and "<code>code</code>" in html
    assert '<a href="https://example.org" rel="nofollow noopener ugc">链接</a>' in html


def test_clean_html_strips_unknown_tags_and_attributes():
    assert clean_html('<h1 class="x">标题</h1><b>粗</b>') == "标题粗"


def test_clean_text_removes_control_and_invisible_characters():
    assert clean_text("a\x00b\u200bc\u202ed\r\ne") == "abcd\ne"


def test_tables_and_headings_render_without_attributes():
    html = render_markdown("# 方案\n\n## 费用分摊\n\n| 楼层 | 比例 |\n|:---|---:|\n| 一楼 | 0% |")
    assert "<h2>方案</h2>" in html and "<h2>费用分摊</h2>" in html  # no h1 inside a page
    assert "<table>" in html and "<td>一楼</td>" in html
    assert "style=" not in html  # column alignment attributes are dropped


def test_plain_text_drops_tags_decodes_entities_and_shortens():
    html = clean_html(render_markdown("**电梯** &lt;b&gt; <script>x</script>"))
    text = plain_text(html)
    assert "<strong>" not in text and "电梯" in text and "<b>" in text  # shown escaped later
    assert plain_text(None) == ""
    assert plain_text("<p>一二三四五</p>", 3) == "一二…"
    assert shorten("一二三", 3) == "一二三"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "见https://example.org/路灯?a=1&b=2。谢谢",
            '<p>见<a href="https://example.org/%E8%B7%AF%E7%81%AF?a=1&amp;b=2" '
            'rel="nofollow noopener ugc">https://example.org/路灯?a=1&amp;b=2</a>。谢谢</p>\n',
        ),
        (
            "访问www.gov.cn，或见 https://zh.wikipedia.org/wiki/A_(B).",
            '<p>访问<a href="http://www.gov.cn" rel="nofollow noopener ugc">www.gov.cn</a>，或见 '
            '<a href="https://zh.wikipedia.org/wiki/A_(B)" rel="nofollow noopener ugc">'
            "https://zh.wikipedia.org/wiki/A_(B)</a>.</p>\n",
        ),
        ("`https://code.example` awww.x.org http://", None),
    ],
)
def test_bare_links_become_nofollow_links_outside_code(source, expected):
    html = render_markdown(source)
    if expected is None:
        assert "<a" not in html
    else:
        assert html == expected


def test_clean_html_replaces_rel_and_drops_handlers_and_script_content():
    html = clean_html('<a href="https://a.example" rel="me" onclick="x()">y</a><script>z</script>')
    assert html == '<a href="https://a.example" rel="nofollow noopener ugc">y</a>'
