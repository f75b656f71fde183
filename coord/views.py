"""Home, language switch, the public supervision page and the audit trail's downloads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from coord import audit, tasks
from coord.db import db
from coord.models import AuditEvent, Community, Street
from coord.security import is_safe_next
from coord.web import int_arg

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    streets = db.session.scalars(sa.select(Street).order_by(Street.id)).all()
    communities = db.session.scalars(sa.select(Community).order_by(Community.id)).all()
    signed_in = current_user.is_authenticated
    return render_template(
        "index.html",
        streets=streets,
        communities=communities,
        my_tasks=tasks.tasks_for(current_user) if signed_in else None,
        sections=[] if signed_in else tasks.highlights(),
    )


@bp.post("/language")
def language():
    code = request.form.get("lang", "")
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for(".index"))


@bp.get("/supervision")
def supervision():
    query = sa.select(AuditEvent).where(AuditEvent.is_public.is_(True))
    community_id = int_arg("community")
    if community_id:
        query = query.where(AuditEvent.community_id == community_id)
    page = db.paginate(query.order_by(AuditEvent.id.desc()), per_page=50, error_out=False)
    names = _names({i for e in page.items for i in _stakeholder_ids(e)})
    head_id, head_hash = audit.chain_head()
    checkpoint = audit.latest_checkpoint()
    communities = db.session.scalars(sa.select(Community).order_by(Community.id)).all()
    return render_template(
        "supervision.html",
        page=page,
        names=names,
        head_id=head_id,
        head_hash=head_hash,
        checkpoint=checkpoint,
        uncovered=head_id - (checkpoint.position if checkpoint else 0),
        communities=communities,
        community_id=community_id,
    )


@bp.get("/supervision/audit.jsonl")
def audit_export():
    """Stream the public export of the audit trail (checked by `python -m coord.audit_verify`)."""
    return Response(
        stream_with_context(audit.export_lines()),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": "attachment; filename=coord-audit.jsonl"},
    )


@bp.get("/supervision/audit-public-key")
def audit_public_key():
    """Serve the public keys that sign the audit checkpoints (PEM, the current one first)."""
    return Response(audit.public_keys_pem(), mimetype="text/plain")


def _stakeholder_ids(event: AuditEvent) -> list[int]:
    data = event.data or {}
    ids = [
        None if data.get("signed") == "resident" else event.actor_id,
        data.get("resident_id"),
        data.get("member_id"),
        data.get("organisation_id"),
    ]
    if event.subject_type == "stakeholder":
        ids.append(event.subject_id)
    return [i for i in ids if isinstance(i, int)]


def _names(ids: set[int]) -> dict[int, str | None]:
    """Map stakeholder ids to public names (None for deleted users), in one query."""
    if not ids:
        return {}
    table = sa.table("stakeholders", sa.column("id"), sa.column("name"), sa.column("deleted_at"))
    rows = db.session.execute(
        sa.select(table.c.id, table.c.name, table.c.deleted_at).where(table.c.id.in_(ids))
    )
    return {r.id: (None if r.deleted_at else r.name) for r in rows}
