"""Notifications: the notify service, settings, mails (single and digest) and the centre's views."""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from coord import accounts, crypto, notifications
from coord.db import db, utcnow
from coord.errors import DomainError
from coord.models import Notification, User
from coord.notifications import Note
from stakeholders.models import Stakeholder

from helpers import PASSWORD, form_errors, use_english

MESSAGE = "%(name)s commented on “%(title)s”."
STATE_MESSAGE = "“%(title)s” moved to: %(state)s."
ADDRESS = "zhang.san@example.com"


class FakeSMTP:
    """Stands in for smtplib.SMTP and records what would have been sent."""

    sent: list = []
    fail = 0  # how many sends fail before one succeeds

    def __init__(self, host: str, port: int, timeout: float | None = None):
        self.host, self.port, self.calls = host, port, []

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def starttls(self, context=None) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user, password))

    def send_message(self, message) -> None:
        if FakeSMTP.fail:
            FakeSMTP.fail -= 1
            raise smtplib.SMTPServerDisconnected("gone")
        FakeSMTP.sent.append((self, message))


class FakeSMTPSSL(FakeSMTP):
    """Stands in for smtplib.SMTP_SSL: the connection is TLS from the start."""

    def __init__(self, host: str, port: int, timeout: float | None = None, context=None):
        super().__init__(host, port, timeout)
        self.calls.append(("implicit tls", context is not None))


@pytest.fixture
def outbox(app, monkeypatch) -> list:
    """Mails sent through a configured SMTP server (a fake one)."""
    FakeSMTP.sent, FakeSMTP.fail = [], 0
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", FakeSMTPSSL)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    monkeypatch.setitem(app.config, "MAIL_FROM", "coord@example.com")
    return FakeSMTP.sent


def with_email(user: User, *, digest: bool = False, locale: str | None = "en") -> User:
    notifications.save_settings(
        user, email=True, digest=digest, muted=[], email_address=f"{user.username}@example.com"
    )
    user.locale = locale
    db.session.commit()
    return user


def note(user: User, message: str = MESSAGE, kind: str = "comment", **params) -> Note:
    params = {"name": "老王", "title": "加装电梯方案"} | params
    return Note(user, kind, message, params, "/proposals/1#comment-2")


def inbox(user: User) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


# -- The service ------------------------------------------------------------------------------


def test_notify_creates_one_row_per_user_and_skips_muted_and_inactive(make_user):
    a, b, muted, gone = (make_user(n) for n in ("a", "b", "muted", "gone"))
    notifications.save_settings(muted, email=False, digest=False, muted=["comment"])
    gone.is_disabled = True
    db.session.commit()
    created = notifications.notify([note(a), note(a), note(b), note(muted), note(gone)])
    db.session.commit()
    assert created == 2
    assert [len(inbox(u)) for u in (a, b, muted, gone)] == [1, 1, 0, 0]
    assert notifications.unread_count(a) == 1


def test_render_translates_the_message_and_msgid_parameters(bare_app):
    params = {"title": "加装电梯方案", "state": notifications.translatable("Voting")}
    with force_locale("en"):
        assert notifications.render(STATE_MESSAGE, params) == "“加装电梯方案” moved to: Voting."
    with force_locale("zh_Hans_CN"):
        assert "表决中" in notifications.render(STATE_MESSAGE, params)


def test_stakeholder_names_are_looked_up_when_shown(make_user):
    user = make_user("laowang", display_name="老王")
    me = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))
    params = {"name": notifications.stakeholder_ref(me.id), "title": "加装电梯方案"}
    with force_locale("en"):
        assert notifications.render(MESSAGE, params) == "老王 commented on “加装电梯方案”."
        me.name = "王师傅"
        db.session.commit()
        assert notifications.render(MESSAGE, params) == "王师傅 commented on “加装电梯方案”."
        me.deleted_at = utcnow()
        db.session.commit()
        assert notifications.render(MESSAGE, params) == "deleted user commented on “加装电梯方案”."


def test_unknown_kinds_are_a_programming_error(make_user):
    with pytest.raises(ValueError, match="unknown notification kind"):
        notifications.notify([note(make_user(), kind="gossip")])


def test_render_survives_parameters_that_do_not_fit(bare_app):
    with force_locale("en"):
        assert notifications.render(MESSAGE, {"title": "x"}) == MESSAGE
        assert notifications.render("Plain text.", {}) == "Plain text."


def test_mask_email():
    assert notifications.mask_email(ADDRESS) == "zh****@example.com"
    assert notifications.mask_email("ab@example.com") == "a****@example.com"
    assert notifications.mask_email("") == ""


def test_settings_are_validated(make_user):
    user = make_user()
    with pytest.raises(DomainError) as exc:
        notifications.save_settings(user, email=True, digest=False, muted=[])
    assert exc.value.field == "email"
    with pytest.raises(DomainError) as exc:
        notifications.save_settings(
            user, email=False, digest=False, muted=[], email_address="not-an-email"
        )
    assert exc.value.field == "email_address"
    with pytest.raises(DomainError) as exc:
        notifications.save_settings(user, email=False, digest=False, muted=["ballots"])
    assert exc.value.field == "muted"
    db.session.rollback()


def test_email_is_stored_encrypted_and_can_be_removed(make_user):
    user = make_user()
    notifications.save_settings(
        user, email=True, digest=True, muted=["reply"], email_address=" Zhang.San@EXAMPLE.com "
    )
    db.session.commit()
    raw = db.session.execute(
        sa.text("SELECT email_encrypted FROM users WHERE id = :id"), {"id": user.id}
    ).scalar_one()
    assert b"Zhang.San" not in bytes(raw) and b"example" not in bytes(raw)
    assert crypto.decrypt(raw) == "Zhang.San@example.com"
    assert user.notification_settings == {"email": True, "digest": True, "muted": ["reply"]}
    notifications.save_settings(user, email=False, digest=False, muted=[], remove_email=True)
    db.session.commit()
    assert user.email_encrypted is None


def test_account_deletion_erases_email_and_notifications(make_user):
    user = with_email(make_user("leaving"))
    notifications.notify([note(user)])
    db.session.commit()
    export = accounts.export_user_data(user)["notifications"]
    assert export["email"] == "leaving@example.com" and len(export["items"]) == 1
    accounts.delete_account(user, PASSWORD)
    db.session.commit()
    assert user.email_encrypted is None and inbox(user) == []


# -- Mails ------------------------------------------------------------------------------------


def test_single_mail_is_sent_only_after_commit(make_user, outbox):
    user = with_email(make_user("laowang"))
    notifications.notify([note(user)])
    assert outbox == []  # not before the commit
    db.session.commit()
    [(smtp, mail)] = outbox
    assert (smtp.host, smtp.port) == ("smtp.example.com", 587)
    assert smtp.calls == ["starttls"]  # the default security; no login without a username
    assert mail["To"] == "laowang@example.com" and mail["From"] == "coord@example.com"
    assert mail["Subject"] == "Coord: 老王 commented on “加装电梯方案”."
    body = mail.get_content()
    assert "/proposals/1#comment-2" in body and "/notifications/settings" in body
    assert inbox(user)[0].emailed_at is not None


def test_mail_names_the_stakeholder(make_user, outbox):
    user = with_email(make_user())
    speaker = make_user("speaker", display_name="李四")
    ref = notifications.stakeholder_ref(
        db.session.scalar(sa.select(Stakeholder.id).where(Stakeholder.user_id == speaker.id))
    )
    notifications.notify([note(user, name=ref)])
    db.session.commit()
    assert outbox[0][1]["Subject"] == "Coord: 李四 commented on “加装电梯方案”."


def test_mail_is_written_in_the_recipients_language(make_user, outbox):
    user = with_email(make_user(), locale=None)  # the default: Simplified Chinese
    notifications.notify(
        [note(user, STATE_MESSAGE, "state", state=notifications.translatable("Voting"))]
    )
    db.session.commit()
    assert "表决中" in outbox[0][1]["Subject"]


def test_rolled_back_action_sends_no_mail(make_user, outbox):
    user = with_email(make_user())
    notifications.notify([note(user)])
    db.session.rollback()
    db.session.commit()
    assert outbox == [] and inbox(user) == []


def test_savepoint_rollback_drops_only_its_mails(make_user, outbox):
    kept, dropped = with_email(make_user("kept")), with_email(make_user("dropped"))
    notifications.notify([note(kept)])
    savepoint = db.session.begin_nested()
    notifications.notify([note(dropped)])
    savepoint.rollback()
    db.session.commit()
    assert [m["To"] for _s, m in outbox] == ["kept@example.com"]


def test_no_single_mail_without_email_or_in_digest_mode(make_user, outbox):
    plain = make_user("plain")
    digest = with_email(make_user("digest"), digest=True)
    notifications.notify([note(plain), note(digest)])
    db.session.commit()
    assert outbox == []
    assert inbox(digest)[0].emailed_at is None


@pytest.mark.parametrize(
    ("security", "port", "calls"),
    [
        ("ssl", 465, [("implicit tls", True), ("login", "coord", "secret")]),
        ("starttls", 587, ["starttls", ("login", "coord", "secret")]),
        ("none", 25, [("login", "coord", "secret")]),
    ],
)
def test_smtp_security_modes_and_login(make_user, outbox, monkeypatch, app, security, port, calls):
    monkeypatch.setitem(app.config, "MAIL_SECURITY", security)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "coord")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "secret")
    notifications.notify([note(with_email(make_user()))])
    db.session.commit()
    smtp = outbox[0][0]
    assert type(smtp) is (FakeSMTPSSL if security == "ssl" else FakeSMTP)
    assert smtp.port == port and smtp.calls == calls


def test_mail_port_setting_wins(make_user, outbox, monkeypatch, app):
    monkeypatch.setitem(app.config, "MAIL_SECURITY", "ssl")
    monkeypatch.setitem(app.config, "MAIL_PORT", 2465)
    notifications.notify([note(with_email(make_user()))])
    db.session.commit()
    assert outbox[0][0].port == 2465


def test_failed_single_mail_does_not_undo_the_action(make_user, outbox, caplog):
    FakeSMTP.fail = 1
    user = with_email(make_user("laowang"))
    notifications.notify([note(user)])
    with caplog.at_level(logging.ERROR, logger="coord.notifications"):
        db.session.commit()
    assert len(inbox(user)) == 1
    assert "could not send a notification email to la****@example.com" in caplog.text
    assert "laowang@example.com" not in caplog.text


def test_mails_go_through_the_mail_queue_with_retries(make_user, outbox, rq_jobs, caplog):
    FakeSMTP.fail = 1  # the first try fails, the retry goes through
    user = with_email(make_user("laowang"))
    notifications.notify([note(user)])
    db.session.commit()
    assert outbox == [] and rq_jobs.queue("mail").count == 1  # nothing sent in the request
    [job] = rq_jobs.queue("mail").get_jobs()
    assert job.retries_left == notifications.MAIL_RETRY.max
    job.retry_intervals = [0]  # retry at once rather than in 30 s
    job.save()
    with caplog.at_level(logging.ERROR, logger="coord.notifications"):
        rq_jobs.work()
    [(_smtp, mail)] = outbox
    assert mail["To"] == "laowang@example.com" and mail["Subject"].startswith("Coord: ")
    assert "could not send a notification email to la****@example.com" in caplog.text


def test_a_mail_that_keeps_failing_ends_in_the_failed_jobs(make_user, outbox, rq_jobs, caplog):
    FakeSMTP.fail = 99
    notifications.notify([note(with_email(make_user("laowang")))])
    db.session.commit()
    [job] = rq_jobs.queue("mail").get_jobs()
    job.retries_left, job.retry_intervals = 1, [0]
    job.save()
    with caplog.at_level(logging.ERROR, logger="coord.notifications"):
        rq_jobs.work()
    assert outbox == [] and caplog.text.count("could not send a notification email") == 2
    assert job.id in rq_jobs.queue("mail").failed_job_registry


def test_without_a_server_mails_go_to_the_log(make_user, app, caplog):
    app.config.pop("MAIL_SERVER", None)
    user = with_email(make_user("laowang"))
    with caplog.at_level(logging.INFO, logger="coord.notifications"):
        notifications.notify([note(user)])
        db.session.commit()
    assert "Coord: 老王 commented" in caplog.text
    assert "la****@example.com" in caplog.text and "laowang@example.com" not in caplog.text


def test_digest_sends_one_mail_per_user_and_marks_them(make_user, outbox):
    digest = with_email(make_user("digest"), digest=True)
    other = with_email(make_user("other"), digest=True)
    single = with_email(make_user("single"))
    off = make_user("off")
    notifications.notify([note(digest, title="旧"), note(off)])
    db.session.commit()
    old = inbox(digest)[0]
    old.created_at = utcnow() - timedelta(days=2)  # older than a day: not in the digest
    notifications.notify([note(digest, title="新一"), note(other), note(single)])
    db.session.commit()
    notifications.notify([note(digest, title="新二")])
    db.session.commit()
    outbox.clear()  # the single user's mail

    assert notifications.send_digests() == 2
    mails = {m["To"]: m for _s, m in outbox}
    assert set(mails) == {"digest@example.com", "other@example.com"}
    mail = mails["digest@example.com"]
    assert mail["Subject"] == "Coord: 2 new notifications"
    body = mail.get_content()
    assert "新一" in body and "新二" in body and "旧" not in body
    assert mails["other@example.com"]["Subject"] == "Coord: 1 new notification"
    db.session.expire_all()
    assert [n.emailed_at is not None for n in inbox(digest)] == [False, True, True]
    outbox.clear()
    assert notifications.send_digests() == 0 and outbox == []


def test_failed_digest_is_retried_next_time(make_user, outbox):
    user = with_email(make_user(), digest=True)
    notifications.notify([note(user)])
    db.session.commit()
    FakeSMTP.fail = 1
    assert notifications.send_digests() == 0
    assert notifications.send_digests() == 1 and len(outbox) == 1


def test_digest_command(make_user, outbox, runner):
    user = with_email(make_user(), digest=True)
    notifications.notify([note(user)])
    db.session.commit()
    result = runner.invoke(args=["coord", "notifications", "digest"])
    assert result.exit_code == 0 and "Sent 1 digest email(s)." in result.output
    assert len(outbox) == 1


# -- Views ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/notifications/"),
        ("get", "/notifications/settings"),
        ("post", "/notifications/settings"),
        ("post", "/notifications/read-all"),
        ("post", "/notifications/1/read"),
    ],
)
def test_anonymous_users_are_sent_to_sign_in(client, method, url):
    r = getattr(client, method)(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_notification_centre_shows_only_ones_own(client, login_as, make_user):
    me, other = make_user("me"), make_user("other")
    notifications.notify([note(me, title="我的方案"), note(other, title="别人的方案")])
    db.session.commit()
    use_english(login_as(me))
    page = client.get("/notifications/").get_data(as_text=True)
    assert "老王 commented on “我的方案”." in page and "别人的方案" not in page
    assert "Notifications (1)" in page
    assert client.get("/notifications/?unread=1").status_code == 200


def test_mark_read_only_ones_own(client, login_as, make_user):
    me, other = make_user("me"), make_user("other")
    notifications.notify([note(me), note(other)])
    db.session.commit()
    mine, theirs = inbox(me)[0], inbox(other)[0]
    login_as(me)
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post("/notifications/99999/read").status_code == 404
    r = client.post(f"/notifications/{mine.id}/read", data={"next": "/notifications/?unread=1"})
    assert r.status_code == 302 and r.headers["Location"] == "/notifications/?unread=1"
    db.session.expire_all()
    assert mine.read_at is not None and theirs.read_at is None


def test_open_marks_read_and_goes_to_the_item(client, login_as, make_user):
    me = make_user("me")
    notifications.notify([note(me)])
    db.session.commit()
    item = inbox(me)[0]
    login_as(me)
    r = client.post(f"/notifications/{item.id}/read", data={"open": "1"})
    assert r.headers["Location"] == "/proposals/1#comment-2"
    r = client.post(f"/notifications/{item.id}/read", data={"next": "https://evil.example/"})
    assert r.headers["Location"] == "/notifications/"


def test_read_all_touches_only_ones_own(client, login_as, make_user):
    me, other = make_user("me"), make_user("other")
    notifications.notify([note(me), note(other)])
    notifications.notify([note(me, title="二")])
    db.session.commit()
    login_as(me)
    assert client.post("/notifications/read-all").status_code == 302
    assert notifications.unread_count(me) == 0 and notifications.unread_count(other) == 1


def test_settings_form_keeps_input_on_error(client, login_as, make_user):
    me = make_user("me")
    use_english(login_as(me))
    r = client.post(
        "/notifications/settings",
        data={
            "email_address": "not-an-email",
            "email": "y",
            "delivery": "digest",
            "muted": "reply",
        },
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert form_errors(page) == ["Enter a valid email address."]
    assert 'value="not-an-email"' in page
    checked = re.findall(r'<input checked[^>]* value="(\w+)"', page)
    assert checked == ["y", "digest", "reply"]  # email on, the delivery choice, a muted kind
    db.session.expire_all()
    assert me.email_encrypted is None and me.notification_settings == {}


def test_email_needs_an_address(client, login_as, make_user):
    use_english(login_as(make_user("me")))
    r = client.post("/notifications/settings", data={"email": "y", "delivery": "single"})
    assert r.status_code == 422
    assert form_errors(r.get_data(as_text=True)) == ["Give an email address to receive emails."]


def test_settings_store_email_encrypted_and_show_it_masked(client, login_as, make_user):
    me = make_user("me")
    login_as(me)
    r = client.post(
        "/notifications/settings",
        data={"email_address": ADDRESS, "email": "y", "delivery": "digest", "muted": ["state"]},
    )
    assert r.status_code == 302
    raw = db.session.execute(
        sa.text("SELECT email_encrypted FROM users WHERE id = :id"), {"id": me.id}
    ).scalar_one()
    assert b"zhang" not in bytes(raw) and crypto.decrypt(raw) == ADDRESS
    db.session.expire_all()
    assert me.notification_settings == {"email": True, "digest": True, "muted": ["state"]}
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "zh****@example.com" in page and ADDRESS not in page
    # an empty address field keeps the stored address
    r = client.post("/notifications/settings", data={"email": "y", "delivery": "single"})
    assert r.status_code == 302
    db.session.expire_all()
    assert notifications.email_of(me) == ADDRESS and me.notification_settings["digest"] is False


def test_unread_badge_costs_one_count_query(client, login_as, make_user, count_queries):
    me = make_user("me")
    notifications.notify([note(me)])
    notifications.notify([note(me, title="二")])
    db.session.commit()
    use_english(login_as(me))
    with count_queries() as counter:
        page = client.get("/").get_data(as_text=True)
    assert "Notifications (2)" in page
    counts = [s for s in counter.statements if "notifications" in s and "count(" in s.lower()]
    assert len(counts) == 1
