"""Personal data is encrypted at rest and masked for display."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from coord import crypto
from coord.app import ConfigError
from coord.db import db
from stakeholders.models import ResidentProfile


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("", ""), (None, ""), ("12345", "1****")],
)
def test_mask(value, masked):
    assert crypto.mask(value) == masked


def test_phone_is_not_stored_in_clear(app, make_resident):
    user = make_resident(phone="13812345678")
    raw = db.session.execute(
        sa.text("SELECT phone_encrypted FROM resident_profiles WHERE user_id = :u"), {"u": user.id}
    ).scalar_one()
    assert b"13812345678" not in bytes(raw)
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == user.id)
    )
    assert profile.phone == "13812345678"
    assert profile.masked_phone == "138****5678"


def test_old_keys_still_decrypt_after_rotation(make_bare_app):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with make_bare_app(DATA_KEY=old).app_context():
        token = crypto.encrypt("13812345678")
    with make_bare_app(DATA_KEY=f"{new},{old}").app_context():
        assert crypto.decrypt(token) == "13812345678"
    with make_bare_app(DATA_KEY=new).app_context(), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


@pytest.mark.parametrize(
    "settings",
    [
        {"SECRET_KEY": "dev-only-not-secret", "DATA_KEY": "x"},
        {"SECRET_KEY": "", "DATA_KEY": "x"},
        {"SECRET_KEY": "a-real-secret", "DATA_KEY": ""},
    ],
)
def test_production_refuses_missing_or_default_secrets(make_bare_app, settings):
    with pytest.raises(ConfigError):
        make_bare_app(ENV="production", **settings)


def test_production_sets_secure_cookies_and_hsts(make_app):
    app = make_app(
        ENV="production",
        SECRET_KEY="a-real-secret",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
        REDIS_URL="redis://127.0.0.1:6379/15",
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.test_client().get("/").headers["Strict-Transport-Security"]


def test_derived_keys_differ_by_purpose_and_follow_the_data_keys(make_bare_app):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with make_bare_app(DATA_KEY=old).app_context():
        (first,) = crypto.derive_keys("poll 1")
        assert crypto.derive_keys("poll 1") == [first] != crypto.derive_keys("poll 2")
    with make_bare_app(DATA_KEY=f"{new},{old}").app_context():
        current, previous = crypto.derive_keys("poll 1")
    assert previous == first and len(current) == 32 and current != first
