"""Rules for the settings of running on several machines (pure: works on a config mapping).

`setting_errors` refuses malformed values in every environment; `runtime_problems` names
what production lacks — each problem says what is wrong and how to set it, and the app
factory joins them into one line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

JOB_MODES = ("rq", "inline")
#: MAIL_SECURITY → its usual port.
MAIL_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
LOG_FORMATS = ("json", "text")
_REDIS_SCHEMES = ("redis://", "rediss://", "redis+")


def parse_networks(value: str | list[str] | tuple[str, ...]) -> list:
    """Parse comma-separated (or listed) addresses and CIDR networks; ValueError if bad."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [ipaddress.ip_network(str(x).strip(), strict=False) for x in items if str(x).strip()]


def is_allowed(address: str | None, networks: list) -> bool:
    """Tell whether `address` belongs to one of `networks`."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)


def setting_errors(config: Mapping[str, Any]) -> list[str]:
    """Return the malformed settings, each with the values it accepts."""
    rv = []
    if (config.get("JOBS") or "rq") not in JOB_MODES:
        rv.append(f"COORD_JOBS={config['JOBS']!r} is unknown: use rq or inline")
    if config.get("MAIL_SECURITY") not in MAIL_PORTS:
        rv.append(
            f"COORD_MAIL_SECURITY={config.get('MAIL_SECURITY')!r} is unknown: "
            "use ssl (port 465), starttls (587) or none"
        )
    if not isinstance(config.get("MAIL_PORT") or 0, int):
        rv.append(f"COORD_MAIL_PORT={config['MAIL_PORT']!r} is not a port number")
    if (config.get("LOG_FORMAT") or "json") not in LOG_FORMATS:
        rv.append(f"COORD_LOG_FORMAT={config['LOG_FORMAT']!r} is unknown: use json or text")
    try:
        parse_networks(config.get("METRICS_ALLOW") or "")
    except ValueError as exc:
        rv.append(f"COORD_METRICS_ALLOW: {exc}: list addresses or CIDR networks, e.g. 10.0.0.0/8")
    return rv


def runtime_problems(config: Mapping[str, Any], *, debug: bool) -> list[str]:
    """Return what keeps these settings from running production on several machines."""
    rv = []
    if debug:
        rv.append(
            "debug mode is on: unset COORD_DEBUG and FLASK_DEBUG "
            "(the debugger runs any code a visitor sends)"
        )
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith(_REDIS_SCHEMES):
        rv.append(
            f"COORD_RATELIMIT_STORAGE_URI is {storage} (each worker would count alone): "
            "set it to a Redis URL, e.g. redis://127.0.0.1:6379/0"
        )
    if not config.get("REDIS_URL"):
        rv.append(
            "COORD_REDIS_URL is missing (jobs run on RQ workers): "
            "set it, e.g. redis://127.0.0.1:6379/1"
        )
    for key in ("JOBS", "NETWORK_JOBS"):
        if config.get(key) and config[key] != "rq":
            rv.append(
                f"COORD_{key}={config[key]} runs jobs in the web workers: unset it (rq is used)"
            )
    return rv
