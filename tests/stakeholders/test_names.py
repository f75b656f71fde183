"""Organisation names: the stored form and the comparison key (pure, no app)."""

from __future__ import annotations

import pytest

from stakeholders.names import clean_name, name_key


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("安居物业服务有限公司", "安居物业服务有限公司"),
        ("  安居物业服务有限公司 ", "安居物业服务有限公司"),
        ("兰苑社区居委会\u3000", "兰苑社区居委会"),
        ("Green   Garden\t Catering", "Green Garden Catering"),
        ("安居 \n 物业", "安居 物业"),
    ],
)
def test_clean_name_trims_and_collapses_whitespace(raw, stored):
    assert clean_name(raw) == stored


@pytest.mark.parametrize(
    "impostor",
    [
        "安居物业服务有限公司 ",
        " 安居物业服务有限公司",
        "安居 物业服务有限公司",
        "安居\u3000物业 服务 有限 公司",
        "安居\u200b物业服务有限公司",  # a zero-width space
        "安居·物业服务有限公司",
        "安居物业服务有限公司。",
        "“安居”物业服务有限公司",
    ],
)
def test_spacing_and_punctuation_do_not_make_a_new_name(impostor):
    assert name_key(impostor) == name_key("安居物业服务有限公司") == "安居物业服务有限公司"


@pytest.mark.parametrize(
    ("a", "b", "key"),
    [
        ("安居物业服务有限公司", "安居物业服务有限公司 ", "安居物业服务有限公司"),
        ("安居 物业", "安居物业", "安居物业"),
        ("ＡＢＣ１２３", "abc123", "abc123"),
        ("ABC 123", "abc123", "abc123"),
        ("绿园餐饮（新河店）", "绿园餐饮(新河店)", "绿园餐饮新河店"),
        (
            "和顺建筑工程有限公司（分公司）",
            "和顺建筑工程有限公司分公司",
            "和顺建筑工程有限公司分公司",
        ),
        ("A.B,C、D-E", "ABCDE", "abcde"),
        ("Straße", "STRASSE", "strasse"),
        ("ｶﾀｶﾅ", "カタカナ", "カタカナ"),
    ],
)
def test_names_that_read_alike_share_a_key(a, b, key):
    assert name_key(a) == name_key(b) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("安居物业服务有限公司", "安居物业管理有限公司"),
        ("兰苑社区居委会", "新河社区居委会"),
        ("abc123", "abc124"),
        ("绿园餐饮", "绿园餐饮二店"),
    ],
)
def test_different_names_keep_different_keys(a, b):
    assert name_key(a) != name_key(b)


def test_a_name_of_only_punctuation_has_an_empty_key():
    assert name_key(" （·）—— ") == ""


def test_keys_are_cut_to_the_column_width():
    assert len(name_key("㍻" * 200)) == 255  # NFKC expands ㍻ to 平成
