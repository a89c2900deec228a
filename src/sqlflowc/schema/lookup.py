"""What a name or a snapshot reference on the command line means.

Names (`resolve_object`): `source:orders` and `table:daily` name an object exactly; a bare
`orders` names the one object of either kind called that (a table may also be written
`main.daily` or `analytics.daily`); case does not matter. A bare name both a source and a
table carry is ambiguous. An unknown name gets "did you mean".

Snapshot references (`resolve_ref`), within one object's history: `@N` is the N-th snapshot,
newest first (`@0` is the latest); `accepted` and `latest` mean what they say; anything else is
a prefix of a fingerprint (at least 4 hex digits) that must single out one schema (when several
snapshots share it, the newest is meant).

Both raise `NotFound` (message and help) for the CLI to print as a usage error.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlflowc.schema.snapshot import KINDS, split_object
from sqlflowc.schema.store import Entry, History
from sqlflowc.suggest import closest

__all__ = ["NotFound", "resolve_object", "resolve_ref"]

_HEX = frozenset("0123456789abcdef")
MIN_PREFIX = 4


class NotFound(Exception):
    """A name or reference that means nothing (or more than one thing)."""

    def __init__(self, message: str, help: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.help = help


def _bare(name: str) -> str:
    folded = name.lower()
    return folded[len("main.") :] if folded.startswith("main.") else folded


def resolve_object(name: str, objects: Sequence[str]) -> str:
    """The object `name` means among `objects` (every object with a history)."""
    text = name.strip()
    kind, colon, rest = text.partition(":")
    if colon and kind.lower() in KINDS:
        wanted = f"{kind.lower()}:{_bare(rest)}"
        if wanted in objects:
            return wanted
        raise _unknown(text, objects)
    found = [o for o in objects if split_object(o)[1] == _bare(text)]
    if len(found) == 1:
        return found[0]
    if found:
        raise NotFound(
            f"`{text}` is both a source and a table",
            "name one: " + " or ".join(f"`{o}`" for o in found),
        )
    raise _unknown(text, objects)


def _unknown(text: str, objects: Sequence[str]) -> NotFound:
    if not objects:
        return NotFound(
            f"no schema snapshot of `{text}`: this project has none yet",
            "a run captures the schema of every source it loads and table it writes "
            "(into target/schemas/)",
        )
    bare = {split_object(o)[1]: o for o in objects}
    near = closest(text, [*objects, *bare])
    if near is not None:
        hint = f"did you mean `{near}`?"
    else:
        hint = "`sqlflowc schema list` shows every object with a snapshot"
    return NotFound(f"no schema snapshot of `{text}`", hint)


def resolve_ref(history: History, ref: str) -> Entry:
    """The snapshot `ref` names in `history`."""
    text = ref.strip()
    count = len(history.snapshots)
    if text.startswith("@"):
        try:
            index = int(text[1:])
        except ValueError:
            raise NotFound(
                f"`{text}` is not a snapshot reference",
                "write @0 for the newest, @1 before it, ...",
            ) from None
        if 0 <= index < count:
            return history.snapshots[index]
        raise NotFound(
            f"{history.object} has no snapshot {text}",
            f"it has {count} snapshot{'s' * (count != 1)}: @0 to @{count - 1}"
            if count
            else "it has no readable snapshot",
        )
    if text.lower() == "latest" and history.latest is not None:
        return history.latest
    if text.lower() == "accepted":
        if history.accepted is None:
            raise NotFound(f"{history.object} has no accepted snapshot")
        return history.accepted
    prefix = text.lower()
    if len(prefix) < MIN_PREFIX or not set(prefix) <= _HEX:
        raise NotFound(
            f"`{text}` is not a snapshot reference",
            f"give @N (newest @0), `accepted`, `latest`, or a fingerprint prefix of at least "
            f"{MIN_PREFIX} hex digits (`sqlflowc schema history {history.object}` lists them)",
        )
    matches: dict[str, Entry] = {}
    for entry in history.snapshots:  # newest first: the first of each fingerprint is kept
        if entry.snapshot.fingerprint.startswith(prefix):
            matches.setdefault(entry.snapshot.fingerprint, entry)
    if len(matches) == 1:
        return next(iter(matches.values()))
    if matches:
        listed = ", ".join(fp[:12] for fp in matches)
        raise NotFound(
            f"`{text}` matches several snapshots of {history.object}: {listed}", "give more digits"
        )
    raise NotFound(
        f"no snapshot of {history.object} has a fingerprint starting with `{text}`",
        f"`sqlflowc schema history {history.object}` lists them",
    )
