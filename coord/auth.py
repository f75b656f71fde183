"""Sign-in, registration, sign-out and the account page."""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from coord import accounts
from coord.db import db
from coord.errors import error_response, wants_json
from coord.extensions import limiter, login_manager
from coord.forms import (
    DeleteAccountForm,
    LoginForm,
    PasswordForm,
    RegisterForm,
    SignatureForm,
    TokenForm,
)
from coord.models import ApiToken, User
from coord.security import is_safe_next
from coord.web import form_status, run

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    user = db.session.scalar(sa.select(User).where(User.session_token == session_token))
    return user if user is not None and user.is_active else None


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or not header.startswith("Bearer "):
        return None
    user = accounts.user_for_token(header.removeprefix("Bearer ").strip())
    g.auth_via_token = user is not None
    return user


def _login_account_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:30]


def _sign_in(user: User) -> User:
    """Start a fresh session for `user` (the caller commits)."""
    session.clear()
    login_user(user)
    return user


def _sign_out() -> None:
    """End this session (the caller commits)."""
    logout_user()
    session.clear()


def _next_url() -> str:
    target = request.args.get("next")
    return target if is_safe_next(target) else url_for("main.index")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():

        def register_and_sign_in() -> User:
            user = accounts.register_user(
                form.username.data, form.display_name.data, form.password.data
            )
            return _sign_in(user)

        rv = run(
            register_and_sign_in,
            _("Welcome, %(name)s! Your account is ready.", name=form.display_name.data),
            url_for("stakeholders.residence"),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template("auth/register.html", form=form), form_status(form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_PER_CLIENT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_PER_ACCOUNT"],
    key_func=_login_account_key,
    methods=["POST"],
)
def login():
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None:
            db.session.commit()
            _sign_in(user)
            return redirect(_next_url())
        flash(_("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 422


@bp.post("/logout")
@login_required
def logout():
    current_user.end_sessions()
    db.session.commit()
    _sign_out()
    flash(_("You have signed out."), "success")
    return redirect(url_for("main.index"))


account_bp = Blueprint("account", __name__, url_prefix="/account")


def _account_page(**forms):
    forms.setdefault("password_form", PasswordForm(prefix="pw"))
    forms.setdefault("token_form", TokenForm(prefix="tk"))
    forms.setdefault("delete_form", DeleteAccountForm(prefix="del"))
    forms.setdefault(
        "signature_form",
        SignatureForm(prefix="sig", formdata=None, signature=current_user.signature_default),
    )
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    status = max(form_status(f) for f in forms.values())
    return render_template("auth/account.html", tokens=tokens, **forms), status


def _account_form(
    name: str, form: FlaskForm, action: Callable[[], object], success: str, target: str
):
    """Run the use case of one of the account page's forms, or show the page again."""
    if form.validate_on_submit():
        rv = run(action, success, target, form=form)
        if rv is not None:
            return rv
    return _account_page(**{name: form})


@account_bp.get("/")
@login_required
def index():
    return _account_page()


@account_bp.post("/password")
@login_required
def password():
    form = PasswordForm(prefix="pw")
    user = current_user._get_current_object()

    def change_password() -> None:
        accounts.change_password(user, form.current.data, form.password.data)
        login_user(user)  # keep this session

    return _account_form(
        "password_form",
        form,
        change_password,
        _("Your password was changed. Other sessions have been signed out."),
        url_for("account.index"),
    )


@account_bp.post("/signature")
@login_required
def signature():
    form = SignatureForm(prefix="sig")
    user = current_user._get_current_object()
    return _account_form(
        "signature_form",
        form,
        lambda: accounts.set_signature_default(user, form.signature.data),
        _("Saved. Your next first contribution to a proposal offers this signature."),
        url_for("account.index"),
    )


@account_bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm(prefix="tk")
    if form.validate_on_submit():
        _token, raw = accounts.create_api_token(current_user, form.name.data)
        db.session.commit()
        flash(
            _("Copy your new token now; it will not be shown again: %(token)s", token=raw), "token"
        )
        return redirect(url_for("account.index"))
    return _account_page(token_form=form)


@account_bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    accounts.revoke_api_token(current_user, token)
    db.session.commit()
    flash(_("The token was revoked."), "success")
    return redirect(url_for("account.index"))


@account_bp.get("/export")
@login_required
def export():
    data = accounts.export_user_data(current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="coord-my-data.json"'},
    )


@account_bp.post("/delete")
@login_required
def delete():
    form = DeleteAccountForm(prefix="del")

    def delete_and_sign_out() -> None:
        accounts.delete_account(current_user, form.password.data)
        _sign_out()

    return _account_form(
        "delete_form",
        form,
        delete_and_sign_out,
        _("Your account was deleted and your personal data erased."),
        url_for("main.index"),
    )


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return error_response(401, _("Sign in or send an API token."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    """Configure Flask-Login and register the account blueprints."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
    app.register_blueprint(account_bp)
