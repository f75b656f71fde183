"""Server-side render time and SQL query count of a proposal page with many comments.

Builds proposals with 100, 1,000 and 5,000 comments (threaded, with reactions), 200
positions and 20 amendments in a temporary SQLite database, then renders
GET /proposals/<id> several times and prints the median time and the query count.
Run: .venv/bin/python benchmarks/proposal_page.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coord import create_app
from coord.db import db, utcnow
from coord.models import Community, Street, User
from proposals.deliberation.models import (
    Amendment,
    Comment,
    CommentStance,
    Position,
    PositionStance,
)
from proposals.models import Proposal, Visibility
from stakeholders.models import Kind, Stakeholder

SIZES = (100, 1_000, 5_000)
RUNS = 7


def _setup(app) -> tuple[list[int], list[int]]:
    """Create people and one proposal per size; return the proposal ids."""
    street = Street(name="清河街道")
    community = Community(street=street, name="兰苑社区")
    db.session.add_all([street, community])
    db.session.flush()
    users = [
        User(
            username=f"u{i}",
            display_name=f"居民{i}",
            password_hash="!",  # noqa: S106
            session_token=f"t{i}",
        )
        for i in range(300)
    ]
    db.session.add_all(users)
    db.session.flush()
    people = [Stakeholder(kind=Kind.RESIDENT, name=u.display_name, user_id=u.id) for u in users]
    db.session.add_all(people)
    db.session.flush()
    ids = []
    for size in SIZES:
        proposal = Proposal(
            kind="consultation",
            status="deliberation",
            community_id=community.id,
            author_id=people[0].id,
            created_by_id=users[0].id,
            title=f"{size} 条评论的提案",
            summary="基准测试",
            body_source="正文",
            body_html="<p>正文</p>",
            visibility=Visibility.PUBLIC,
            published_at=utcnow(),
            comment_count=size,
        )
        db.session.add(proposal)
        db.session.flush()
        _comments(proposal, people, size)
        db.session.add_all(
            Position(
                proposal_id=proposal.id,
                stakeholder_id=p.id,
                user_id=p.user_id,
                stance=list(PositionStance)[i % 4],
                interests=["cost", "noise"],
                conditions="夜间不施工" if i % 4 == 2 else "",
            )
            for i, p in enumerate(people[:200])
        )
        db.session.add_all(
            Amendment(
                proposal_id=proposal.id,
                base_version=1,
                user_id=users[i].id,
                actor_id=people[i].id,
                title=f"修正案 {i}",
                body_source="新文本",
                body_html="<p>新文本</p>",
                rationale="理由",
            )
            for i in range(20)
        )
        ids.append(proposal.id)
    db.session.commit()
    return ids, [u.id for u in users]


def _comments(proposal: Proposal, people: list[Stakeholder], size: int) -> None:
    rows = []
    for i in range(size):
        parent = rows[i // 3] if i >= 3 and i % 3 else None
        comment = {
            "id": None,
            "proposal_id": proposal.id,
            "user_id": people[i % 300].user_id,
            "actor_id": people[i % 300].id,
            "stance": list(CommentStance)[i % 4].value,
            "body_source": f"第 {i} 条意见",
            "body_html": f"<p>第 {i} 条意见</p>",
            "created_at": utcnow(),
            "agree_count": i % 7,
            "disagree_count": i % 3,
            "parent": parent,
        }
        rows.append(comment)
    for comment in rows:
        parent = comment.pop("parent")
        obj = Comment(
            proposal_id=comment["proposal_id"],
            user_id=comment["user_id"],
            actor_id=comment["actor_id"],
            stance=CommentStance(comment["stance"]),
            body_source=comment["body_source"],
            body_html=comment["body_html"],
            agree_count=comment["agree_count"],
            disagree_count=comment["disagree_count"],
            parent_id=parent["id"] if parent else None,
            depth=(parent["depth"] + 1) if parent else 0,
        )
        db.session.add(obj)
        db.session.flush()
        obj.path = f"{parent['path']}/{obj.id:010d}" if parent else f"{obj.id:010d}"
        comment["id"], comment["depth"], comment["path"] = obj.id, obj.depth, obj.path
    db.session.flush()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "ENV": "testing",
                "TESTING": True,
                "SECRET_KEY": "bench",
                "DATA_KEY": Fernet.generate_key().decode(),
                "RATELIMIT_ENABLED": False,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            }
        )
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            ids, _users = _setup(app)
            print(f"built {sum(SIZES)} comments in {time.perf_counter() - started:.1f} s")
            statements: list[str] = []
            sa.event.listen(
                db.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
            )
        client = app.test_client()
        print(f"{'comments':>9} {'median ms':>10} {'per comment µs':>15} {'queries':>8}")
        for size, proposal_id in zip(SIZES, ids, strict=True):
            client.get(f"/proposals/{proposal_id}")  # warm the template cache
            times = []
            for _ in range(RUNS):
                statements.clear()
                start = time.perf_counter()
                response = client.get(f"/proposals/{proposal_id}")
                times.append(time.perf_counter() - start)
                assert response.status_code == 200
            queries = sum(
                1 for s in statements if not s.lstrip().upper().startswith(("BEGIN", "PRAGMA"))
            )
            median = statistics.median(times)
            print(f"{size:>9} {median * 1000:>10.1f} {median / size * 1e6:>15.1f} {queries:>8}")


if __name__ == "__main__":
    main()
