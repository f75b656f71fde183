"""The Chinese catalog translates every extracted msgid, keeps its placeholders, compiles.

Pure file tests (no app): they extract the msgids the way `make messages` does. When one
fails, run `make messages` and translate the listed msgids in the zh_Hans_CN catalog.
"""

from __future__ import annotations

import io
import re
import shlex
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from coord.i18n import paren

ROOT = Path(__file__).resolve().parents[2]
LOCALE = "zh_Hans_CN"
CATALOG = ROOT / "coord" / "translations" / LOCALE / "LC_MESSAGES" / "messages.po"

#: A printf-style conversion: %(name)s, %d, %5.2f, %% ...
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)


def _extract_keywords() -> list[str]:
    """Return the `-k` keywords of the Makefile's `pybabel extract` line."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(x for x in makefile.splitlines() if "pybabel" in x and " extract " in x)
    args = shlex.split(line)
    rv = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-k"]
    assert rv, "the Makefile's extract command names no -k keywords"
    return rv


def _extract() -> dict[tuple[str, str | None], str | tuple[str, ...]]:
    """Extract msgids as `make messages` does: {(msgid, context): message}."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(ROOT / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(_extract_keywords())}
    rv: dict[tuple[str, str | None], str | tuple[str, ...]] = {}
    for _f, _l, message, _c, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            rv[(msgid, context)] = message
    return rv


def _read_catalog() -> Catalog:
    with open(CATALOG, "rb") as fh:
        return read_po(fh, locale=LOCALE, abort_invalid=True)


def _placeholders(text: str) -> tuple[frozenset[str], Counter[str]]:
    """Return the named placeholders (a set: order and repetition are free) and the others."""
    named, positional = set(), Counter()
    for m in _PLACEHOLDER.finditer(text):
        if m.group("name") is not None:
            named.add(m.group(0))
        else:
            positional[m.group(0)] += 1
    return frozenset(named), positional


def _strings(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def test_every_extracted_msgid_is_translated() -> None:
    catalog = _read_catalog()
    problems = []
    for (msgid, context), message in sorted(_extract().items(), key=lambda x: x[0][0]):
        entry = catalog.get(msgid, context)
        if entry is None:
            problems.append(f"missing:      {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy:        {msgid!r}")
        elif not all(_strings(entry.string)):
            problems.append(f"untranslated: {msgid!r}")
        elif isinstance(message, tuple) != isinstance(entry.id, tuple):
            problems.append(f"plural form differs (run make messages): {msgid!r}")
    assert not problems, (
        f"{len(problems)} msgid(s) lack a Chinese translation in {CATALOG.relative_to(ROOT)}; "
        "run `make messages` and translate them:\n" + "\n".join(problems)
    )


def test_translations_keep_the_placeholders() -> None:
    problems = []
    for entry in _read_catalog():
        if not entry.id:
            continue
        source = _strings(entry.id)[-1]  # the plural msgid, if any: Chinese has one form
        expected = _placeholders(source)
        for text in _strings(entry.string):
            if text and _placeholders(text) != expected:
                problems.append(f"{source!r} -> {text!r}")
    assert not problems, "placeholders differ from the msgid:\n" + "\n".join(problems)


def test_catalog_compiles() -> None:
    catalog = _read_catalog()
    assert catalog.locale is not None and str(catalog.locale) == LOCALE
    assert catalog.num_plurals == 1
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check()]
    assert not errors, f"catalog check failed: {errors}"

    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    compiled = read_mo(buf)

    def key(message_id):  # plural ids come back from the .mo as lists
        return tuple(message_id) if isinstance(message_id, list | tuple) else message_id

    def value(string):
        return tuple(string) if isinstance(string, list | tuple) else string

    expected = {key(m.id): value(m.string) for m in catalog if m.id and all(_strings(m.string))}
    assert {key(m.id): value(m.string) for m in compiled if m.id} == expected


def test_counts_are_bracketed_as_the_language_writes_them(app):
    with force_locale("zh_Hans_CN"):
        assert paren(3) == "（3）"
    with force_locale("en"):
        assert paren(3) == "(3)"
        assert paren("<b>") == "(&lt;b&gt;)"  # escaped like any other text
