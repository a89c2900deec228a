"""Reading and writing the files the CLI names (pipelines, plans, graphs, formatted pipelines).

- `write_text_atomic`: the text goes to a temporary file in the target's directory, then
  `os.replace` puts it in place, so a reader never sees half a file and a failure leaves the old
  file untouched. The temporary file has a short name of its own (`.sqlflowc-XXXXXXXX.tmp`), so a
  target whose name is near the file-system limit can still be written. A symlink is written
  through (the file it points to is replaced, the link stays), and an existing file keeps its
  permission bits; a new one gets the usual `0o666 & ~umask`. An existing file the user may not
  write is refused (PermissionError), although its directory would allow replacing it. A target
  that exists and is not a regular file (`/dev/stdout`, a named pipe) is written directly: it
  cannot be replaced.
- `file_error`: the diagnostic (SF0913) for an `OSError` while reading or writing a file: it
  names the file the user gave (never a temporary one) and the reason (`Permission denied`,
  `No space left on device`, ...).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from sqlflowc.diagnostics import Code, Diagnostic

__all__ = ["file_error", "os_reason", "write_text_atomic"]


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path`'s content with `text` (UTF-8) atomically; raises OSError."""
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    target = Path(os.path.realpath(path))
    if st is not None and not os.access(target, os.W_OK):
        # Renaming over it would succeed in a writable directory: respect the file's own mode.
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".sqlflowc-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def os_reason(err: OSError) -> str:
    """`Permission denied`, `No space left on device`, ...: the reason without the path."""
    return err.strerror or str(err) or type(err).__name__


def file_error(action: str, path: Path | str, err: OSError) -> Diagnostic:
    """SF0913 `cannot <action> <path>: <reason>`; `path` is the file the user named."""
    return Diagnostic(
        Code.FILE_ERROR,
        f"cannot {action} {path}: {os_reason(err)}",
        help=_HELP.get(type(err), ""),
    )


_HELP: dict[type[OSError], str] = {
    PermissionError: "check the permissions of the file and its directory",
    NotADirectoryError: "a part of the path is a file, not a directory",
    IsADirectoryError: "give a file, not a directory",
}
