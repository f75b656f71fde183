"""The short receipt code: format, grouping, parsing and prefix matching."""

from __future__ import annotations

import hashlib

import pytest

from voting import receipt_code as rc

RECEIPT = hashlib.sha256(b"a ballot").hexdigest()


def test_a_code_is_16_crockford_characters_from_the_first_80_bits():
    code = rc.short_code(RECEIPT)
    assert len(code) == 16 and set(code) <= set(rc.ALPHABET)
    assert not set(code) & set("ILOU")
    value = 0
    for c in code:
        value = value * 32 + rc.ALPHABET.index(c)
    assert value == int(RECEIPT[:20], 16)


def test_known_values():
    assert rc.short_code("0" * 64) == "0" * 16
    assert rc.short_code("f" * 64) == "Z" * 16
    assert rc.short_code("00000000000000000021" + "0" * 44) == "0" * 14 + "11"


def test_codes_are_grouped_by_four():
    assert rc.grouped("7KQ2M9XD4B0TZ8WE") == "7KQ2-M9XD-4B0T-Z8WE"
    assert rc.grouped("7KQ2M9") == "7KQ2-M9"


@pytest.mark.parametrize(
    "typed",
    ["7KQ2-M9XD-4B0T-Z8WE", "7kq2m9xd4b0tz8we", " 7kq2 m9xd-4B0T z8we ", "7KQ2-M9XD-4BOT-Z8WE"],
)
def test_parse_accepts_any_case_dashes_spaces_and_o_for_zero(typed):
    assert rc.parse(typed) == "7KQ2M9XD4B0TZ8WE"


def test_parse_reads_i_and_l_as_one_and_accepts_a_prefix():
    assert rc.parse("il-7k") == "117K"


@pytest.mark.parametrize("typed", ["", "  -- ", "7KQ2-U", "7KQ2M9XD4B0TZ8WE7", "7KQ2!", "中文"])
def test_parse_refuses_what_is_not_a_code(typed):
    assert rc.parse(typed) is None


def test_matching_finds_by_prefix_and_reports_every_candidate():
    receipts = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(50)]
    target = receipts[7]
    code = rc.short_code(target)
    assert rc.matching(code, receipts) == [target]
    assert target in rc.matching(code[:2], receipts)
    everyone = rc.matching("", receipts)
    assert everyone == receipts


def test_codes_do_not_collide_among_many_ballots():
    receipts = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(20_000)]
    assert len({rc.short_code(r) for r in receipts}) == len(receipts)
