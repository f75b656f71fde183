"""Account and notification-settings forms, and the filters and validators they share."""

from __future__ import annotations

import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from coord import notifications
from coord.models import Signature
from coord.text import clean_text

USERNAME_RE = r"^[A-Za-z0-9_.-]+$"
_COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "qwertyuiop",
        "password123",
        "password1234",
        "iloveyou123",
        "a123456789",
        "1q2w3e4r5t",
        "qwerty12345",
        "aaaaaaaaaa",
        "abc1234567",
        "woaini1314",
        "1111111111",
        "88888888888",
    }
)


def strip_text(value: str | None) -> str | None:
    """Normalise and trim a text field (keeps None)."""
    return clean_text(value).strip() if isinstance(value, str) else value


def halfwidth(value: str | None) -> str | None:
    """Turn full-width characters typed with a Chinese IME (１３８, －) into ASCII."""
    return (
        unicodedata.normalize("NFKC", value).replace(" ", "") if isinstance(value, str) else value
    )


class StrongPassword:
    """Refuse passwords that are short, common, or contain the username."""

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        value = field.data or ""
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(value) < minimum:
            raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))
        username = (getattr(form, "username", None) and form.username.data) or ""
        if value.lower() in _COMMON_PASSWORDS or len(set(value)) < 4:
            raise ValidationError(_l("This password is too easy to guess."))
        if username and username.lower() in value.lower():
            raise ValidationError(_l("The password must not contain the username."))


class RegisterForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[strip_text],
        validators=[
            DataRequired(),
            Length(min=3, max=30),
            Regexp(USERNAME_RE, message=_l("Use only letters, digits, '_', '.' and '-'.")),
        ],
    )
    display_name = StringField(
        _l("Display name"), filters=[strip_text], validators=[DataRequired(), Length(max=30)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=128), StrongPassword()]
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Register"))


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"), filters=[strip_text], validators=[DataRequired(), Length(max=30)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    submit = SubmitField(_l("Sign in"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=128), StrongPassword()]
    )
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    confirm = BooleanField(
        _l("I understand that my personal data will be erased and cannot be restored."),
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Delete my account"))


class SignatureForm(FlaskForm):
    """How the user, as a resident, first offers to sign their contributions to a proposal."""

    signature = RadioField(
        _l("Sign my comments, positions and amendments"),
        choices=[
            SelectChoice(Signature.RESIDENT.value, _l("As a resident of my building")),
            SelectChoice(Signature.NAMED.value, _l("By my name")),
        ],
        validators=[DataRequired(message=_l("Choose how to sign."))],
    )
    submit = SubmitField(_l("Save"))


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"), filters=[strip_text], validators=[DataRequired(), Length(max=60)]
    )
    submit = SubmitField(_l("Create token"))


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SettingsForm(FlaskForm):
    """What notifications a user gets, and how."""

    email_address = StringField(
        _l("Email address"),
        filters=[strip_text],
        validators=[
            Optional(),
            Length(max=notifications.EMAIL_MAX_LENGTH),
            Regexp(notifications.EMAIL_RE, message=_l("Enter a valid email address.")),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"},
    )
    remove_email = BooleanField(_l("Remove my email address"))
    email = BooleanField(_l("Send me notifications by email"))
    delivery = RadioField(
        _l("Email delivery"),
        choices=[
            SelectChoice("single", _l("One email for each notification")),
            SelectChoice("digest", _l("One daily digest instead of single emails")),
        ],
        default="single",
    )
    muted = MultiCheckboxField(_l("Do not notify me of"), validators=[Optional()])
    submit = SubmitField(_l("Save settings"))


class ConfirmForm(FlaskForm):
    """Confirm an action that cannot be undone; the POST does what the page stated."""

    submit = SubmitField(_l("Confirm"))


class ReasonConfirmForm(ConfirmForm):
    """Confirm an action that changes a published date or the public record, with a reason
    that is shown publicly and sent to the participants."""

    reason = TextAreaField(
        _l("Reason (shown publicly and sent to the participants)"),
        filters=[strip_text],
        validators=[DataRequired(_l("Give a reason.")), Length(max=500)],
    )


def confirmed_reason(form: ConfirmForm) -> str:
    """Return the reason given on a confirmation form ("" when the form asks for none)."""
    return (form.reason.data or "") if "reason" in form else ""
