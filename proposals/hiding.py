"""The public reason shown in place of a proposal or comment that the moderators hid."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: The public reason of an automatic hide (stored untranslated, see `hidden_reason_text`).
AUTO_HIDE_REASON = "Hidden pending review after several reports."
_AUTO_HIDE_LABEL = _l("Hidden pending review after several reports.")


def hidden_reason_text(reason: str | None) -> str:
    """Return the public reason an item is hidden, translated when it is the automatic one."""
    if reason is None:
        return ""
    return str(_AUTO_HIDE_LABEL) if reason == AUTO_HIDE_REASON else reason
