"""Sealed secret ballots (pure): round trip, binding to the poll, key rotation, one size."""

from __future__ import annotations

import os

import pytest

from voting import sealing

KEY, OTHER = os.urandom(32), os.urandom(32)
OPTIONS = ["按楼层分摊", "平均分摊", "一楼免缴"]
RECEIPT = "ab" * 32


def _payload(choice) -> dict:
    return {"choice": choice, "kind": "social_organization", "receipt": RECEIPT}


def test_a_sealed_ballot_opens_with_its_key_for_its_poll_only():
    size = sealing.frame_size(OPTIONS)
    token = sealing.seal(KEY, 7, _payload(["平均分摊", "按楼层分摊"]), size)
    assert token.startswith(sealing.MAGIC)
    assert RECEIPT.encode() not in token and "平均分摊".encode() not in token
    assert sealing.unseal([KEY], 7, token) == _payload(["平均分摊", "按楼层分摊"])
    assert sealing.unseal([OTHER, KEY], 7, token)["receipt"] == RECEIPT  # an older key
    with pytest.raises(sealing.SealError):
        sealing.unseal([KEY], 8, token)  # moved to another poll
    with pytest.raises(sealing.SealError):
        sealing.unseal([OTHER], 7, token)
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    with pytest.raises(sealing.SealError):
        sealing.unseal([KEY], 7, tampered)
    with pytest.raises(sealing.SealError):
        sealing.unseal([KEY], 7, b"CVB1 too short")


def test_two_seals_of_the_same_ballot_differ():
    size = sealing.frame_size(OPTIONS)
    first = sealing.seal(KEY, 1, _payload("平均分摊"), size)
    assert first != sealing.seal(KEY, 1, _payload("平均分摊"), size)


@pytest.mark.parametrize(
    "choice",
    [
        "一楼免缴",
        [],
        list(OPTIONS),
        dict.fromkeys(OPTIONS, 10),
        {OPTIONS[0]: 999_999_999, OPTIONS[1]: 999_999_999, OPTIONS[2]: 999_999_999},
    ],
)
def test_every_ballot_of_a_poll_seals_to_the_same_size(choice):
    size = sealing.frame_size(OPTIONS)
    assert size % sealing.BLOCK == 0
    token = sealing.seal(KEY, 1, _payload(choice), size)
    assert len(token) == len(sealing.MAGIC) + sealing.NONCE_BYTES + size + 16


def test_frame_size_grows_with_the_options_and_refuses_what_does_not_fit():
    small = sealing.frame_size(["A", "B"])
    assert small == 192  # 4 + the largest ballot's JSON (153 bytes), in 64-byte blocks
    longest = [f"{i:02d}" + "长" * 78 for i in range(20)]  # 20 options of 80 characters
    assert sealing.frame_size(longest) > 20 * (2 + 78 * 3)
    with pytest.raises(ValueError, match="larger"):
        sealing.seal(KEY, 1, _payload("X" * 200), small)
    with pytest.raises(ValueError, match="32 bytes"):
        sealing.seal(KEY[:16], 1, _payload("A"), small)
