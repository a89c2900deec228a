"""Atomic text writes for the files the CLI produces (plans, graphs, formatted pipelines).

The text goes to a temporary file in the target's directory, then `os.replace` puts it in
place, so a reader never sees half a file and a failure leaves the old file untouched. A
symlink is written through (the file it points to is replaced, the link stays), and an
existing file keeps its permission bits; a new one gets the usual `0o666 & ~umask`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path`'s content with `text` (UTF-8) atomically."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
