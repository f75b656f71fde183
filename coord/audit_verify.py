"""Check an exported audit trail without the app or its database.

    python -m coord.audit_verify coord-audit.jsonl --public-key audit-public-key.pem

The export is the supervision page's download (`/supervision/audit.jsonl`); the public key
is its `/supervision/audit-public-key`, better obtained from a second, independent source
(docs/audit.md). Imports only the standard library, `cryptography` and the pure
`coord.audit_chain`. Exit status: 0 when the chain, its signed checkpoints and the heads
given with `--expect` all match; 1 naming the first event that no longer matches; 2 when
the file or a key cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coord import audit_chain

T = TypeVar("T")


class ExportError(ValueError):
    """The export or a key cannot be read."""


def _records(path: Path, kind: str, read: Callable[[dict[str, Any]], T]) -> Iterator[T]:
    """Yield the records of one kind from the export, read one line at a time."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                if number == 1 and record.get("format") != audit_chain.EXPORT_FORMAT:
                    raise ValueError(f"not a {audit_chain.EXPORT_FORMAT} export")
                if record.get("type") == kind:
                    yield read(record)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ExportError(f"{path}, line {number}: {exc!r}") from None


def _keys(values: Sequence[str]) -> dict[str, Ed25519PublicKey]:
    """Read the trusted public keys: files (PEM or base64) or base64 given inline."""
    rv = {}
    for value in values:
        path = Path(value)
        text = path.read_text(encoding="utf-8") if path.is_file() else value
        try:
            rv.update({audit_chain.key_id(k): k for k in audit_chain.load_public_keys(text)})
        except ValueError as exc:
            raise ExportError(f"public key {value!r}: {exc}") from None
    return rv


def _anchors(values: Sequence[str], header: dict[str, Any]) -> dict[int, str]:
    """Read `--expect POSITION:HASH` values, plus the export's own head (a cut file fails)."""
    rv = {int(header["head_id"]): str(header["head_hash"])} if header.get("head_id") else {}
    for value in values:
        position, _, head_hash = value.partition(":")
        if not position.isdigit() or len(head_hash) != 64:
            raise ExportError(f"--expect {value!r} is not POSITION:HASH")
        rv[int(position)] = head_hash.lower()
    return rv


def check(path: Path, public_keys: Sequence[str], expect: Sequence[str] = ()) -> audit_chain.Report:
    """Verify the export at `path` against the trusted `public_keys` and published heads."""
    keys = _keys(public_keys)
    header = next(_records(path, "header", dict), None)
    if header is None:
        raise ExportError(f"{path}: no header line")
    anchors = _anchors(expect, header)
    checkpoints = sorted(
        _records(path, "checkpoint", audit_chain.checkpoint_from_record),
        key=lambda cp: cp.position,
    )
    links = _records(path, "event", audit_chain.link_from_record)
    return audit_chain.verify(links, checkpoints, keys, anchors)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m coord.audit_verify",
        description="Verify an exported Coord audit trail and its signed checkpoints.",
    )
    parser.add_argument("file", type=Path, help="the export (audit.jsonl)")
    parser.add_argument(
        "--public-key",
        action="append",
        required=True,
        help="a trusted public key: a PEM file, or base64 of its 32 raw bytes (repeatable)",
    )
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="POSITION:HASH",
        help="a head published outside the system, e.g. posted by the street office",
    )
    args = parser.parse_args(argv)
    try:
        report = check(args.file, args.public_key, args.expect)
    except (ExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in audit_chain.describe(report):
        print(line, file=sys.stderr if report.broken else sys.stdout)
    return 1 if report.broken else 0


if __name__ == "__main__":
    sys.exit(main())
