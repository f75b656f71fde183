"""How a contribution's author is shown to others: by name, or as a resident of a building.

Pure rules on plain values (the loading is in `proposals.deliberation.signatures`):

- Organisations are public actors and always named; so is a deleted user ("deleted user").
- A resident signs each proposal `named` or `resident`; `resident` shows, instead of the
  name and profile link, "a verified resident of building 3 of 兰苑社区" (verified claim
  with a building), "a verified resident of 兰苑社区" (verified, no building), "a resident
  of 兰苑社区" (claim not yet verified: no verified mark) or "a resident" (no claim, or a
  rejected one).
- The choice is fixed once made, except `resident` → `named`: never back, because readers
  have already seen the name.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMED = "named"
RESIDENT = "resident"
MODES = (NAMED, RESIDENT)


def N_(s: str) -> str:
    """Mark a string for translation without translating it."""
    return s


BUILDING = N_("a verified resident of building %(building)s of %(community)s")
VERIFIED = N_("a verified resident of %(community)s")
COMMUNITY = N_("a resident of %(community)s")
ANYONE = N_("a resident")


@dataclass(frozen=True)
class Residence:
    """What a resident claimed: community name, building, and whether it was verified."""

    community: str = ""
    building: str = ""
    verified: bool = False
    rejected: bool = False


@dataclass(frozen=True)
class Label:
    """The public face of a building-signed author: a msgid, its values, and the facts."""

    msgid: str
    community: str = ""
    building: str = ""
    verified: bool = False

    @property
    def params(self) -> dict[str, str]:
        return {"community": self.community, "building": self.building}


def public_label(
    kind: str, is_deleted: bool, mode: str | None, residence: Residence | None
) -> Label | None:
    """Return the label that replaces an author's name, or None when they are named."""
    if kind != RESIDENT or is_deleted or mode != RESIDENT:
        return None
    if residence is None or residence.rejected or not residence.community:
        return Label(ANYONE)
    if not residence.verified:
        return Label(COMMUNITY, residence.community)
    building = residence.building.strip()
    if not building:
        return Label(VERIFIED, residence.community, verified=True)
    return Label(BUILDING, residence.community, building, verified=True)


def resolve_mode(current: str | None, wanted: str | None, default: str) -> str:
    """Return the signature that applies after a contribution asking for `wanted`.

    No signature yet: `wanted`, else the account's `default`. Afterwards it stays, except
    `resident` → `named`. Raise ValueError for an unknown mode and PermissionError for
    `named` → `resident`.
    """
    if wanted is not None and wanted not in MODES:
        raise ValueError(wanted)
    if current is None:
        return wanted or (default if default in MODES else RESIDENT)
    if wanted is None or wanted == current:
        return current
    if current == NAMED:
        raise PermissionError(wanted)
    return wanted
