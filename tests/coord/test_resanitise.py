"""`flask coord resanitise`: stored HTML is rebuilt from its Markdown source through the
current sanitiser — every `*_html` column, in batches, idempotently."""

from __future__ import annotations

import sqlalchemy as sa

from coord.db import db
from coord.resanitise import stored_html
from coord.text import SANITIZER_VERSION, render_markdown
from proposals import services
from proposals.deliberation.comments import post_comment
from proposals.deliberation.models import Comment
from proposals.models import ProposalVersion
from stakeholders.acting import Actor

from helpers import identity

STALE = '<p><a href="javascript:alert(1)">旧的</a> 见 https://example.org</p>'
SOURCE = "**方案** 见 https://example.org"


def test_every_stored_html_column_is_found_with_its_source(bare_app):
    found = {(c.label, c.source, c.version) for c in stored_html()}
    assert found == {
        ("proposals.body_html", "body_source", "sanitizer_version"),
        ("proposal_versions.body_html", "body_source", None),
        ("comments.body_html", "body_source", "sanitizer_version"),
        ("comment_revisions.body_html", "body_source", None),
        ("amendments.body_html", "body_source", None),
        ("bids.proposal_html", "proposal_source", None),
    }


def test_stale_html_is_rebuilt_in_batches_and_a_second_run_writes_nothing(
    app, runner, community, make_user
):
    user = make_user("author")
    actor = Actor(user, identity(user))
    values = {
        "kind": "consultation",
        "community_id": community.id,
        "title": "加装电梯",
        "summary": "征求意见",
        "body": SOURCE,
        "category": "facilities",
        "visibility": "public",
        "publish": True,
    }
    proposals = [services.create_proposal(actor, values) for _ in range(3)]
    comment = post_comment(actor, proposals[0], {"body": SOURCE, "stance": "support"})
    for p in proposals:
        p.body_html, p.sanitizer_version = STALE, 2
    comment.body_html, comment.sanitizer_version = STALE, 2
    db.session.execute(sa.update(ProposalVersion).values(body_html=STALE))
    db.session.commit()

    result = runner.invoke(args=["coord", "resanitise", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "proposals.body_html: 3 rows read, 3 rewritten" in result.output
    assert "  proposals.body_html: 2 read, 2 rewritten" in result.output  # a first batch of 2
    assert "proposal_versions.body_html: 3 rows read, 3 rewritten" in result.output

    expected = render_markdown(SOURCE)
    assert 'rel="nofollow noopener ugc">https://example.org</a>' in expected
    db.session.expire_all()
    for p in proposals:
        assert (p.body_html, p.sanitizer_version) == (expected, SANITIZER_VERSION)
    assert db.session.get(Comment, comment.id).body_html == expected
    assert set(db.session.scalars(sa.select(ProposalVersion.body_html))) == {expected}

    again = runner.invoke(args=["coord", "resanitise"])
    assert again.exit_code == 0, again.output
    assert "proposals.body_html: 0 rows read, 0 rewritten" in again.output
    assert "proposal_versions.body_html: 3 rows read, 0 rewritten" in again.output
    assert "comments.body_html: 0 rows read, 0 rewritten" in again.output
