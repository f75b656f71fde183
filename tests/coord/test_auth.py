"""Registration, sign-in, sign-out, password change and session ending."""

from __future__ import annotations

import pytest

from coord.db import db
from coord.models import User

from helpers import PASSWORD, form_errors, identity, use_english


def _register(client, **overrides):
    data = {
        "username": "xiaoming",
        "display_name": "小明",
        "password": "a-long-secret-9",
        "confirm": "a-long-secret-9",
    }
    data.update(overrides)
    return client.post("/register", data=data)


def test_register_creates_user_and_resident_identity(client):
    response = _register(client)
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.username == "xiaoming"))
    assert user.display_name == "小明"
    assert user.password_hash.startswith("$argon2id$")
    me = identity(user)
    assert me.kind.value == "resident" and me.name == "小明"
    assert client.get("/account/").status_code == 200  # signed in


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "short", "confirm": "short"}, "at least"),
        ({"password": "1234567890", "confirm": "1234567890"}, "too easy"),
        ({"password": "xiaoming-2026", "confirm": "xiaoming-2026"}, "username"),
        ({"confirm": "something-else"}, "differ"),
        ({"username": "x" * 31}, "between 3 and 30"),
        ({"username": "bad name!"}, "letters, digits"),
        ({"display_name": "长" * 31}, "longer than 30"),
        ({"display_name": "\u200b\u0007"}, "required"),
    ],
)
def test_register_refuses_bad_input_and_keeps_text(client, overrides, message):
    use_english(client)
    response = _register(client, **overrides)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in " ".join(form_errors(page)).lower() or message in page
    if "display_name" not in overrides:
        assert 'value="小明"' in page
    assert "a-long-secret-9" not in page  # passwords are never echoed
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_duplicate_username_is_refused_case_insensitively(client, make_user):
    make_user("xiaoming")
    use_english(client)
    response = _register(client, username="XiaoMing")
    assert response.status_code == 422
    assert "taken" in response.get_data(as_text=True)


def test_login_wrong_password_and_unknown_user_answer_alike(client, make_user):
    make_user("laowang")
    wrong = client.post("/login", data={"username": "laowang", "password": "nope-nope-nope"})
    unknown = client.post("/login", data={"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 422
    strip = lambda r: r.get_data(as_text=True).replace("laowang", "").replace("nobody", "")  # noqa: E731
    assert _without_csrf(strip(wrong)) == _without_csrf(strip(unknown))


def _without_csrf(page: str) -> str:
    import re

    return re.sub(r'name="csrf_token"[^>]*', "", page)


def test_login_then_safe_next_only(client, make_user):
    make_user("laowang")
    ok = client.post("/login?next=/account/", data={"username": "laowang", "password": PASSWORD})
    assert ok.headers["Location"] == "/account/"
    client.post("/logout")
    for evil in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        r = client.post(f"/login?next={evil}", data={"username": "laowang", "password": PASSWORD})
        assert r.headers["Location"] == "/", evil
        client.post("/logout")


def test_disabled_user_cannot_sign_in(client, make_user):
    user = make_user("laowang")
    user.is_disabled = True
    db.session.commit()
    r = client.post("/login", data={"username": "laowang", "password": PASSWORD})
    assert r.status_code == 422


def test_logout_ends_the_old_session_cookie(app, make_user):
    make_user("laowang")
    first = app.test_client()
    first.post("/login", data={"username": "laowang", "password": PASSWORD})
    with first.session_transaction() as s:
        stolen = dict(s)
    first.post("/logout")
    replay = app.test_client()
    with replay.session_transaction() as s:
        s.update(stolen)
    assert replay.get("/account/").status_code == 302  # sent to sign in


def test_password_change_ends_other_sessions(app, make_user):
    make_user("laowang")
    here, elsewhere = app.test_client(), app.test_client()
    for c in (here, elsewhere):
        c.post("/login", data={"username": "laowang", "password": PASSWORD})
    r = here.post(
        "/account/password",
        data={
            "pw-current": PASSWORD,
            "pw-password": "new-secret-2026",
            "pw-confirm": "new-secret-2026",
        },
    )
    assert r.status_code == 302
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302


def test_password_change_with_wrong_current_password(client, make_user, login_as):
    login_as(make_user("laowang"))
    use_english(client)
    r = client.post(
        "/account/password",
        data={
            "pw-current": "wrong-wrong",
            "pw-password": "new-secret-2026",
            "pw-confirm": "new-secret-2026",
        },
    )
    assert r.status_code == 422
    assert "current password is wrong" in r.get_data(as_text=True)


def test_login_is_throttled_per_account(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN_PER_ACCOUNT="3 per minute")
    with app.app_context():
        make_user("laowang")
    client = app.test_client()
    codes = [
        client.post("/login", data={"username": "laowang", "password": "wrong-wrong"}).status_code
        for _ in range(4)
    ]
    assert codes == [422, 422, 422, 429]
    other = client.post("/login", data={"username": "someone", "password": "wrong-wrong"})
    assert other.status_code == 422  # another account is not locked out by this one


def test_forms_need_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    use_english(client)
    r = client.post("/register", data={"username": "x", "password": "y"})
    assert r.status_code == 400
    assert "form expired" in r.get_data(as_text=True)


def test_disabling_an_account_ends_its_sessions(client, runner, make_user, login_as):
    user = make_user("laowang")
    login_as(user)
    assert client.get("/account/").status_code == 200
    result = runner.invoke(args=["coord", "disable-user", "laowang"])
    assert result.exit_code == 0, result.output
    assert client.get("/account/").status_code == 302
    assert (
        client.post("/login", data={"username": "laowang", "password": PASSWORD}).status_code == 422
    )
    runner.invoke(args=["coord", "disable-user", "laowang", "--enable"])
    assert (
        client.post("/login", data={"username": "laowang", "password": PASSWORD}).status_code == 302
    )


def test_create_admin_command(runner):
    result = runner.invoke(
        args=["coord", "create-admin", "boss"], input="long-secret-2026\nlong-secret-2026\n"
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "boss"))
    assert user.is_admin


def test_demo_command_is_idempotent(runner):
    first = runner.invoke(args=["coord", "demo"])
    assert "wangguihua" in first.output, first.output
    users = db.session.scalar(db.select(db.func.count()).select_from(User))
    assert users >= 1 + 10 + 40  # the admin, the organisations' staff, the residents
    second = runner.invoke(args=["coord", "demo"])
    assert "nothing loaded" in second.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == users
