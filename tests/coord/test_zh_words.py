"""The Chinese catalog writes Chinese: Chinese punctuation beside Chinese text, one word per
concept (the glossary of SCENARIOS.md), and no English words left in sentences.

Pure file tests (no app). When one fails, fix the listed entries of the zh_Hans_CN catalog.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "coord" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"

CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"
#: What may hold ASCII punctuation legitimately: placeholders, URLs, HTML tags, numbers.
_EXEMPT = re.compile(
    r"%\([^)]*\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # %(name)s
    r"|%[diouxXeEfFgGcrsa%]"  # %s, %d
    r"|\{[^}]*\}"  # {name}
    r"|https?://\S+|/[\w./-]+|\?[\w=<>&]+"  # URLs, paths and query strings
    r"|<[^>]+>"  # tags
    r"|\d+(?:[.,:]\d+)+"  # 1.5, 1,000, 10:30
)
#: ASCII punctuation written against Chinese text: "份. 开标", "否,", "(居民)".
_BAD = re.compile(
    rf"{CJK}\s*[.,:;?!]"
    rf"|{CJK}\s*\("
    rf"|\(\s*{CJK}"
    rf"|{CJK}\s*\)"
    rf"|\)\s*{CJK}"
)

#: One word per concept: (concept, the word we use, words that must not appear for it).
GLOSSARY = (("a key share (tender opening)", "分片", ("份额",)),)
#: Msgids that must read as these words (a yes/no vote is 赞成/反对, not 赞成/否).
FIXED = {"Yes": "赞成", "No": "反对", "Abstain": "弃权"}
#: Msgids shown side by side that must not read alike (the network's filters).
DISTINCT = (("Kind", "Type"),)
#: Raw English that must not reach a Chinese sentence.
ENGLISH = re.compile(r"\b(?:nonce|Markdown|OCDS|Kind|Type)\b")


def _entries() -> list[tuple[str, str]]:
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    rv = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        rv.extend((ids[0], s) for s in strings if s)
    return rv


def ascii_punctuation_beside_cjk(text: str) -> list[str]:
    """Return the places where ASCII punctuation touches Chinese text."""
    bare = _EXEMPT.sub("X", text)
    return [m.group(0) for m in _BAD.finditer(bare)]


def test_the_check_finds_english_punctuation_and_spares_placeholders_and_numbers():
    assert ascii_punctuation_beside_cjk("共 2 份. 开标时间") == ["份."]
    assert ascii_punctuation_beside_cjk("王桂花(居民)") == ["花(", "民)"]
    assert ascii_punctuation_beside_cjk("赞成, 反对") == ["成,"]
    assert ascii_punctuation_beside_cjk("%(name)s（%(kind)s）") == []
    assert ascii_punctuation_beside_cjk("平均 1.5 个工作日。见 https://example.org/a.b") == []


def test_no_ascii_punctuation_beside_chinese_text():
    problems = [
        f"{msgid!r} → {text!r}: {found}"
        for msgid, text in _entries()
        if (found := ascii_punctuation_beside_cjk(text))
    ]
    assert not problems, "\n".join(problems)


def test_one_word_per_concept():
    problems = [
        f"{concept}: use {word}, not {bad!r} in {text!r}"
        for concept, word, banned in GLOSSARY
        for _msgid, text in _entries()
        for bad in banned
        if bad in text
    ]
    assert not problems, "\n".join(problems)


def test_no_raw_english_words_in_chinese_sentences():
    problems = [
        f"{msgid!r} → {text!r}"
        for msgid, text in _entries()
        if re.search(CJK, text) and ENGLISH.search(_EXEMPT.sub("X", text))
    ]
    assert not problems, "\n".join(problems)


def test_vote_words_and_side_by_side_labels():
    strings = dict(_entries())
    assert {msgid: strings[msgid] for msgid in FIXED} == FIXED
    for a, b in DISTINCT:
        assert strings[a] != strings[b], f"{a!r} and {b!r} both read {strings[a]!r}"
