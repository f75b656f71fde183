"""The public reason shown in place of a hidden item (proposals/hiding.py)."""

from __future__ import annotations

from proposals import hiding


def test_hidden_reason_text_translates_only_the_automatic_reason(bare_app):
    assert hiding.hidden_reason_text(hiding.AUTO_HIDE_REASON).startswith("Hidden")
    assert hiding.hidden_reason_text("广告") == "广告"
    assert hiding.hidden_reason_text(None) == ""
