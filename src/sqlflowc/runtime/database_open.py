"""What a user reads when the run's DuckDB database cannot be opened.

`open_failure(database, err)` is `(message, help)` for the exception `duckdb.connect` raised.
DuckDB lets one process at a time open a database file for writing; when another process holds
it, DuckDB's own message (`IO Error: Could not set lock on file "...": Conflicting lock is held
in /usr/bin/python3 (PID 4242). See also https://...`) becomes

    the database t.duckdb is in use: another process (PID 4242: `sqlflowc run p.sf`) is using
    the database file /home/me/t.duckdb

with what to do (wait for it, stop it, or use another database). The holder's command line is
read from `/proc` where there is one (a script run by Python named by the script's name; else
DuckDB's name of its program). Any other failure is
`cannot open database <database>: <the error>`, with a help naming the two usual causes.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["open_failure"]

_LOCKED = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)"'
    r"(?::\s*Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\))?"
)
_COMMAND_SHOWN = 80  # characters of the holder's command line


def open_failure(database: str, err: BaseException) -> tuple[str, str]:
    """The message and help for `err`, raised opening `database` (module docstring)."""
    text = " ".join(str(err).split())
    locked = _LOCKED.search(text)
    if locked is None:
        return (
            f"cannot open database {database}: {text}",
            "check the `--db` path or the profile's `engine: {path: ...}`",
        )
    pid = locked["pid"]
    if pid is None:
        holder = "another process"
        stop = "wait until it ends"
    else:
        holder = f"another process (PID {pid}: `{_command(pid, locked['program'])}`)"
        stop = f"wait until it ends (or stop it: `kill {pid}`)"
    return (
        f"the database {database} is in use: {holder} is using the database file {locked['file']}",
        f"DuckDB lets one process at a time write a database file: {stop}, then run again; "
        "or run on another database (`--db`, or the profile's `engine: {path: ...}`)",
    )


def _command(pid: str, program: str | None) -> str:
    """The command line of process `pid`, shortened; DuckDB's name of its program when it
    cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        raw = b""
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    if not words:
        return program or "unknown"
    if Path(words[0]).name.startswith("python") and len(words) > 1 and words[1][:1] != "-":
        words = words[1:]  # a script run by its interpreter: `sqlflowc run ...`
    words[0] = Path(words[0]).name
    command = " ".join(" ".join(words).split())
    if len(command) > _COMMAND_SHOWN:
        command = command[: _COMMAND_SHOWN - 1] + "…"
    return command
