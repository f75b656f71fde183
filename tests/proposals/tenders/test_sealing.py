"""proposals/sealing.py: GF(2^8) known answers, Shamir, share codes, sealing and wrapping."""

from __future__ import annotations

import ast
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proposals.tenders import sealing

ROOT = Path(__file__).resolve().parents[3]


def test_sealing_is_a_pure_module():
    tree = ast.parse((ROOT / "proposals" / "tenders" / "sealing.py").read_text(encoding="utf-8"))
    nodes = list(ast.walk(tree))
    modules = {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module}
    roots = {m.split(".")[0] for m in modules}
    assert not roots & {"flask", "sqlalchemy", "coord", "flask_babel", "stakeholders"}


# -- GF(2^8): FIPS-197 section 4.2 worked examples ------------------------------------------


def test_gf_multiplication_matches_fips_197():
    assert sealing.gf_mul(0x57, 0x83) == 0xC1
    assert sealing.gf_mul(0x57, 0x13) == 0xFE
    assert sealing.gf_mul(0x57, 0x02) == 0xAE  # xtime
    assert sealing.gf_mul(0x57, 0x10) == 0x07


def test_gf_division_inverts_multiplication():
    for a, b in itertools.product(range(256), range(1, 256, 7)):
        assert sealing.gf_div(sealing.gf_mul(a, b), b) == a
    with pytest.raises(ZeroDivisionError):
        sealing.gf_div(1, 0)


# -- Shamir ---------------------------------------------------------------------------------


def test_shamir_known_polynomial():
    """Secret 0x42 with f(x) = 0x42 + 0x07·x: shares f(1) = 0x45, f(2) = 0x4C; any two give 0x42."""
    shares = [(1, bytes([0x42 ^ sealing.gf_mul(7, 1)])), (2, bytes([0x42 ^ sealing.gf_mul(7, 2)]))]
    assert shares == [(1, b"\x45"), (2, b"\x4c")]
    assert sealing.combine_shares(shares) == b"\x42"


@pytest.mark.parametrize(("n", "k"), [(2, 2), (3, 2), (5, 3), (7, 7), (4, 1)])
def test_any_k_shares_recover_the_secret(n, k):
    secret = os.urandom(sealing.SECRET_BYTES)
    shares = sealing.split_secret(secret, n, k)
    assert [i for i, _ in shares] == list(range(1, n + 1))
    for subset in itertools.combinations(shares, k):
        assert sealing.combine_shares(subset) == secret
    if k > 1:
        assert sealing.combine_shares(shares[: k - 1]) != secret


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=32), st.integers(2, 8), st.data())
def test_shamir_property(secret, n, data):
    k = data.draw(st.integers(1, n))
    shares = sealing.split_secret(secret, n, k)
    chosen = data.draw(st.permutations(shares))[:k]
    assert sealing.combine_shares(chosen) == secret


def test_fewer_than_k_shares_say_nothing_about_one_byte():
    """With k = 2, a single share's byte is uniform: every value occurs for a fixed secret."""
    seen = {sealing.split_secret(b"\x00", 2, 2)[0][1][0] for _ in range(3000)}
    assert len(seen) > 240


def test_split_and_combine_refuse_bad_input():
    for n, k in [(1, 2), (0, 0), (256, 2), (3, 0)]:
        with pytest.raises(ValueError):
            sealing.split_secret(b"x", n, k)
    with pytest.raises(ValueError):
        sealing.combine_shares([])
    with pytest.raises(ValueError):
        sealing.combine_shares([(1, b"a"), (1, b"b")])
    with pytest.raises(ValueError):
        sealing.combine_shares([(1, b"a"), (2, b"bc")])


# -- Share codes ----------------------------------------------------------------------------


def test_share_codes_round_trip_and_are_typable():
    value = bytes(range(16))
    code = sealing.encode_share(3, value)
    groups = code.split("-")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    assert set(code.replace("-", "")) <= set(sealing.ALPHABET)
    assert sealing.decode_share(code) == (3, value)
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert sealing.decode_share(sloppy) == (3, value)


def test_every_single_typing_error_is_caught():
    code = sealing.encode_share(200, os.urandom(16)).replace("-", "")
    for pos, c in itertools.product(range(len(code)), sealing.ALPHABET):
        if c != code[pos]:
            with pytest.raises(sealing.ShareError):
                sealing.decode_share(code[:pos] + c + code[pos + 1 :])
    with pytest.raises(sealing.ShareError):
        sealing.decode_share(code[1:] + code[0])  # swapped order
    for bad in ["", "ABCD", code + "0", code[:-1] + "U", "💥" * 32]:
        with pytest.raises(sealing.ShareError):
            sealing.decode_share(bad)


def test_share_digest_depends_on_context_and_share():
    a = sealing.share_digest(b"tender:1", 1, b"\x01" * 16)
    assert len(a) == 64
    assert a != sealing.share_digest(b"tender:2", 1, b"\x01" * 16)
    assert a != sealing.share_digest(b"tender:1", 2, b"\x01" * 16)


# -- Sealing and wrapping -------------------------------------------------------------------


def test_seal_and_unseal():
    public, private = sealing.generate_keypair()
    sealed = sealing.seal(public, "报价 980000.00".encode(), b"tender=1|bidder=2", pad_to=1024)
    assert sealed.startswith(sealing.SEAL_MAGIC)
    assert b"980000" not in sealed and "报价".encode() not in sealed
    assert (len(sealed) - 4 - 32 - 12 - 16) % 1024 == 0  # padded: the size tells little
    assert sealing.unseal(private, sealed, b"tender=1|bidder=2") == "报价 980000.00".encode()
    assert sealing.seal(public, b"x", b"c") != sealing.seal(public, b"x", b"c")  # randomised


def test_unseal_refuses_wrong_key_context_or_tampering():
    public, private = sealing.generate_keypair()
    _, other = sealing.generate_keypair()
    sealed = sealing.seal(public, b"price 100", b"ctx")
    with pytest.raises(sealing.SealError):
        sealing.unseal(other, sealed, b"ctx")
    with pytest.raises(sealing.SealError):
        sealing.unseal(private, sealed, b"another bidder")
    for pos in (0, 5, 40, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[pos] ^= 1
        with pytest.raises(sealing.SealError):
            sealing.unseal(private, bytes(tampered), b"ctx")
    with pytest.raises(sealing.SealError):
        sealing.unseal(private, sealed[:30], b"ctx")
    with pytest.raises(sealing.SealError):
        sealing.seal(b"short", b"x", b"ctx")


def test_wrapped_key_opens_only_with_k_and_its_context():
    _public, private = sealing.generate_keypair()
    secret = os.urandom(sealing.SECRET_BYTES)
    wrapped = sealing.wrap_key(private, secret, b"tender:7")
    assert private not in wrapped
    assert sealing.unwrap_key(wrapped, secret, b"tender:7") == private
    with pytest.raises(sealing.SealError):
        sealing.unwrap_key(wrapped, os.urandom(16), b"tender:7")
    with pytest.raises(sealing.SealError):
        sealing.unwrap_key(wrapped, secret, b"tender:8")
    with pytest.raises(ValueError):
        sealing.wrap_key(private, b"short", b"tender:7")


def test_the_whole_chain_from_shares_to_an_opened_bid():
    public, private = sealing.generate_keypair()
    secret = os.urandom(sealing.SECRET_BYTES)
    wrapped = sealing.wrap_key(private, secret, b"t")
    codes = [sealing.encode_share(i, v) for i, v in sealing.split_secret(secret, 3, 2)]
    sealed = sealing.seal(public, b"bid", b"b")
    recovered = sealing.combine_shares(sealing.decode_share(c) for c in codes[1:])
    assert sealing.unseal(sealing.unwrap_key(wrapped, recovered, b"t"), sealed, b"b") == b"bid"
    assert sealing.receipt(sealed) == __import__("hashlib").sha256(sealed).hexdigest()
    assert len(sealing.fingerprint(public)) == 16
