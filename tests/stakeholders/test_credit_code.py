"""Unified social credit codes (GB 32100-2015): check digits against published codes (pure)."""

from __future__ import annotations

import pytest

from stakeholders.credit_code import Invalid, Reason, check_digit, is_valid, normalise, problem

#: Codes printed on these companies' public registrations (national enterprise credit
#: information publicity system, company web sites).
PUBLISHED = {
    "华为技术有限公司": "914403001922038216",
    "腾讯科技（深圳）有限公司": "91440300708461136T",
    "小米科技有限责任公司": "91110108551385082Q",
    "北京百度网讯科技有限公司": "91110000802100433B",
    "阿里巴巴（中国）有限公司": "91330100716105852F",
    "贵州茅台酒股份有限公司": "91520000214434146R",
    "a Fuzhou registration with a letter in its subject code": "91350100M000100Y43",
}


@pytest.mark.parametrize("code", PUBLISHED.values(), ids=list(PUBLISHED))
def test_published_codes_are_valid(code):
    assert check_digit(code[:17]) == code[17]
    assert problem(code) is None and is_valid(code)


@pytest.mark.parametrize(
    ("first17", "digit"),
    [
        ("91440300192203821", "6"),  # Σ mod 31 = 25: 31 − 25
        ("91440300708461136", "T"),  # value 26 (Σ mod 31 = 5)
        ("91110108551385082", "Q"),  # value 24
        ("00000000000000000", "0"),  # Σ = 0: 31 − 0 = 31, written 0
    ],
)
def test_check_digit_known_answers(first17, digit):
    assert check_digit(first17) == digit


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("91440300192203821", Invalid(Reason.LENGTH, "17")),
        ("9144030019220382166", Invalid(Reason.LENGTH, "19")),
        ("", Invalid(Reason.LENGTH, "0")),
        ("91440300192203821I", Invalid(Reason.CHARACTERS, "I")),
        ("9144O30019220382S6", Invalid(Reason.CHARACTERS, "OS")),
        ("91440300192203821V", Invalid(Reason.CHARACTERS, "V")),
        ("914403Z0192203821Z", Invalid(Reason.CHARACTERS, "Z")),
        ("9144A300192203821-", Invalid(Reason.CHARACTERS, "-")),
        ("91A40300192203821X", Invalid(Reason.DIVISION, "A40300")),
        ("914403001922038217", Invalid(Reason.CHECK_DIGIT, "7")),  # Huawei, last digit typed wrong
        ("914403001922038261", Invalid(Reason.CHECK_DIGIT, "1")),  # two digits swapped
        ("91440300708461163T", Invalid(Reason.CHECK_DIGIT, "T")),  # Tencent, 3 and 6 swapped
        ("9133010057462616XH", Invalid(Reason.CHECK_DIGIT, "H")),  # its check digit is 9
    ],
)
def test_invalid_codes_say_what_is_wrong(code, expected):
    assert problem(code) == expected
    assert not is_valid(code)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("91440300708461136t", "91440300708461136T"),
        (" 9144 0300 7084 6113 6T ", "91440300708461136T"),
        ("９１４４０３００７０８４６１１３６Ｔ", "91440300708461136T"),
    ],
)
def test_normalise_upper_cases_and_removes_spaces(raw, code):
    assert normalise(raw) == code
    assert is_valid(normalise(raw))
