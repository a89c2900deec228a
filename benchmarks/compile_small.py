"""compile_small: `sqlflowc compile` of the quickstart pipeline, against importing lark and
sqlglot (what any tool parsing the language and its SQL pays before doing anything)."""

from __future__ import annotations

from _common import Context, Row, interleaved, log_sample, time_command
from run_small import PIPELINE, prepare

NAME = "compile_small"
TITLE = "small compile: `sqlflowc compile quickstart.sf`"
REPEATS = 10
TARGET = 0.25


def run(ctx: Context) -> list[Row]:
    project = prepare(ctx, NAME)
    ours_cmd = [ctx.sqlflowc, "compile", PIPELINE]
    base_cmd = [ctx.python, "-c", "import lark, sqlglot"]
    samples = interleaved(
        {
            "ours": lambda: time_command(ours_cmd, cwd=project),
            "baseline": lambda: time_command(base_cmd, cwd=project),
        },
        repeats=REPEATS,
    )
    log_sample("sqlflowc compile", samples["ours"])
    log_sample("import lark, sqlglot", samples["baseline"])
    row = Row.measured(
        NAME,
        "compile_small",
        "`sqlflowc compile` quickstart vs `python -c 'import lark, sqlglot'`",
        samples["ours"],
        samples["baseline"],
        target=f"< {TARGET * 1000:.0f} ms",
    )
    row.met = row.ours < TARGET
    return [row]
