"""startup: wall time of `sqlflowc --help` against a bare `python -c pass`."""

from __future__ import annotations

from _common import Context, Row, interleaved, log_sample, time_command

NAME = "startup"
TITLE = "process start-up: `sqlflowc --help`"
REPEATS = 20
TARGET = 0.1


def run(ctx: Context) -> list[Row]:
    ours_cmd = [ctx.sqlflowc, "--help"]
    base_cmd = [ctx.python, "-c", "pass"]
    samples = interleaved(
        {
            "ours": lambda: time_command(ours_cmd, cwd=ctx.workdir),
            "baseline": lambda: time_command(base_cmd, cwd=ctx.workdir),
        },
        repeats=REPEATS,
        warmup=2,
    )
    log_sample("sqlflowc --help", samples["ours"])
    log_sample("python -c pass", samples["baseline"])
    row = Row.measured(
        NAME,
        "startup",
        "wall time of `sqlflowc --help` vs bare `python -c pass`",
        samples["ours"],
        samples["baseline"],
        target=f"< {TARGET * 1000:.0f} ms",
    )
    row.met = row.ours < TARGET
    return [row]
