"""Fixed, translatable vocabularies: proposal categories and the interests at stake (pure)."""

from __future__ import annotations

from typing import Final


def N_(s: str) -> str:
    """Mark a string for translation without translating it."""
    return s


CATEGORIES: Final[dict[str, str]] = {
    "facilities": N_("Facilities and renovation"),
    "elderly": N_("Elderly care"),
    "parking": N_("Traffic and parking"),
    "environment": N_("Environment and sanitation"),
    "safety": N_("Safety and security"),
    "property": N_("Property management"),
    "business": N_("Shops and business"),
    "culture": N_("Culture and neighbourhood life"),
    "other": N_("Other"),
}

INTERESTS: Final[dict[str, str]] = {
    "cost": N_("Cost"),
    "safety": N_("Safety"),
    "environment": N_("Environment"),
    "noise": N_("Noise"),
    "traffic_parking": N_("Traffic and parking"),
    "property_value": N_("Property value"),
    "business_income": N_("Business income"),
    "public_order": N_("Public order"),
    "convenience": N_("Convenience"),
    "health": N_("Health"),
}
