"""Validate and normalise a poll's settings (method, options, eligibility, rules, window)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from coord.db import utcnow
from coord.errors import DomainError
from stakeholders.models import Kind
from voting import tally as engine

KINDS = tuple(k.value for k in Kind)
UNITS = ("person", "organisation")
MIN_OPTIONS, MAX_OPTIONS, MAX_LABEL = 2, 20, 80
MAX_TITLE, MAX_DESCRIPTION = 120, 4000
MAX_SCORE_LIMIT = 10
#: Per-kind breakdowns of secret polls are withheld for kinds with fewer ballots than this.
MIN_GROUP_BALLOTS = 5

YES_NO = ("yes", "no")
ABSTAIN = "abstain"


def _error(message: Any, field: str) -> DomainError:
    return DomainError(str(message), field=field)


def _int(value: Any, field: str, low: int, high: int, message: Any) -> int:
    if isinstance(value, bool):
        raise _error(message, field)
    try:
        rv = int(value)
    except (TypeError, ValueError):
        raise _error(message, field) from None
    if not low <= rv <= high or (isinstance(value, float) and value != rv):
        raise _error(message, field)
    return rv


def clean_options(method: str, data: dict[str, Any]) -> list[str]:
    """Return the option labels: yes/no(/abstain) for yes_no, else 2–20 unique labels."""
    if method == "yes_no":
        return [*YES_NO, ABSTAIN] if data.get("allow_abstain", True) else list(YES_NO)
    raw = data.get("options") or []
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise _error(_l("Give the options as a list of labels."), "options")
    labels = [" ".join(x.split()) for x in raw]
    labels = [x for x in labels if x]
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        raise _error(
            _l("Give between %(low)d and %(high)d options.", low=MIN_OPTIONS, high=MAX_OPTIONS),
            "options",
        )
    if any(len(x) > MAX_LABEL for x in labels):
        raise _error(_l("An option may have at most %(n)d characters.", n=MAX_LABEL), "options")
    if len(set(labels)) != len(labels):
        raise _error(_l("Each option must be different."), "options")
    return labels


def clean_params(method: str, options: list[str], data: dict[str, Any]) -> dict[str, Any]:
    """Return the tally engine's parameters for `method`."""
    m = len(options)
    if method == "yes_no":
        threshold = data.get("threshold") or "simple"
        if threshold not in engine.THRESHOLDS:
            raise _error(_l("Choose a threshold."), "threshold")
        base = data.get("base") or "cast_excluding_abstentions"
        if base not in engine.BASES:
            raise _error(_l("Choose what the threshold is measured against."), "base")
        return {"threshold": threshold, "base": base}
    if method == "approval":
        low = _int(
            data.get("min_selections") or 0,
            "min_selections",
            0,
            m,
            _l("The minimum must be between 0 and the number of options."),
        )
        high = _int(
            data.get("max_selections") or m,
            "max_selections",
            1,
            m,
            _l("The maximum must be between 1 and the number of options."),
        )
        if low > high:
            raise _error(_l("The minimum is larger than the maximum."), "min_selections")
        return {"min_selections": low, "max_selections": high}
    if method == "score":
        top = _int(
            data.get("max_score") or 5,
            "max_score",
            1,
            MAX_SCORE_LIMIT,
            _l("The highest score must be between 1 and %(n)d.", n=MAX_SCORE_LIMIT),
        )
        return {"max_score": top}
    if method == "stv":
        seats = _int(
            data.get("seats") or 1,
            "seats",
            1,
            m - 1,
            _l("The seats must be at least 1 and fewer than the options."),
        )
        return {"seats": seats}
    return {}


def _kinds(value: Any, field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(k, str) for k in value):
        raise _error(_l("Choose stakeholder kinds."), field)
    bad = [k for k in value if k not in KINDS]
    if bad:
        raise _error(_l("Unknown stakeholder kind."), field)
    return [k for k in KINDS if k in value]


def _percent_map(value: Any, field: str, kinds: list[str]) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error(_l("Give a percentage per stakeholder kind."), field)
    rv = {}
    for kind, pct in value.items():
        if kind not in KINDS:
            raise _error(_l("Unknown stakeholder kind."), field)
        if pct in (None, ""):
            continue
        number = _int(pct, field, 0, 100, _l("Percentages are whole numbers from 0 to 100."))
        if kind not in kinds and number:
            raise _error(_l("Set percentages only for kinds that may vote."), field)
        if number:
            rv[kind] = number
    return rv


def clean_rules(method: str, data: dict[str, Any]) -> dict[str, Any]:
    """Return eligibility, voter unit, group rule and quorums, checked."""
    unit = data.get("unit") or "person"
    if unit not in UNITS:
        raise _error(_l("Choose who votes: persons or organisations."), "unit")
    kinds = _kinds(data.get("kinds") or ["resident"], "kinds")
    if unit == "person" and kinds != ["resident"]:
        raise _error(
            _l("When persons vote, only residents are eligible; let organisations vote."),
            "kinds",
        )
    if not kinds:
        raise _error(_l("Choose at least one stakeholder kind."), "kinds")
    invited = data.get("invited") or []
    if not isinstance(invited, list | tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in invited
    ):
        raise _error(_l("Invite stakeholders by their ids."), "invited")
    rule = data.get("rule") or "pooled"
    if rule not in engine.GROUP_RULES:
        raise _error(_l("Choose how stakeholder groups count."), "rule")
    shares: dict[str, int] = {}
    min_groups = None
    if rule == "weighted":
        shares = _percent_map(data.get("shares"), "shares", kinds)
        if sum(shares.values()) != 100:
            raise _error(_l("The shares of the kinds must add up to 100 %."), "shares")
    if rule == "concurrent":
        if method != "yes_no":
            raise _error(_l("A concurrent majority needs a yes/no vote."), "rule")
        if data.get("min_groups") not in (None, "", 0):
            min_groups = _int(
                data.get("min_groups"),
                "min_groups",
                1,
                len(kinds),
                _l("The number of kinds must be between 1 and the kinds that may vote."),
            )
    quorum = _int(
        data.get("quorum") or 0, "quorum", 0, 100, _l("The quorum is a percentage from 0 to 100.")
    )
    kind_quorum = _percent_map(data.get("kind_quorum"), "kind_quorum", kinds)
    return {
        "unit": unit,
        "eligibility": {
            "kinds": kinds,
            "community": bool(data.get("community_only", True)),
            "verified_only": bool(data.get("verified_only", True)),
            "invited": sorted(set(invited)),
        },
        "rule": rule,
        "shares": shares,
        "min_groups": min_groups,
        "quorum": quorum,
        "kind_quorum": kind_quorum,
    }


def clean_window(
    opens_at: datetime | None, closes_at: datetime | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """Return (opens, closes): opening defaults to now; closing must come after both."""
    now = now or utcnow()
    opens = opens_at or now
    if opens.tzinfo is None or (closes_at is not None and closes_at.tzinfo is None):
        raise _error(_l("Times must carry a time zone."), "opens_at")
    if closes_at is None:
        raise _error(_l("Give a closing time."), "closes_at")
    if closes_at <= opens:
        raise _error(_l("The poll must close after it opens."), "closes_at")
    if closes_at <= now:
        raise _error(_l("The closing time must be in the future."), "closes_at")
    return opens, closes_at


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Check everything a poll is opened with; return the normalised values."""
    method = data.get("method")
    if method not in engine.METHODS:
        raise _error(_l("Choose a voting method."), "method")
    title = " ".join(str(data.get("title") or "").split())
    if not title or len(title) > MAX_TITLE:
        raise _error(_l("Give a title of at most %(n)d characters.", n=MAX_TITLE), "title")
    description = str(data.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise _error(
            _l("The description may have at most %(n)d characters.", n=MAX_DESCRIPTION),
            "description",
        )
    options = clean_options(method, data)
    params = clean_params(method, options, data)
    rules = clean_rules(method, data)
    secret = bool(data.get("secret"))
    return {
        "title": title,
        "description": description,
        "method": method,
        "options": options,
        "settings": {"params": params, **rules},
        "is_secret": secret,
        "live_results": bool(data.get("live_results")) and not secret,
    }
