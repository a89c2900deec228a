"""validation: what each way of validating the compile path's mappings costs a fresh process —
the hand-written `sqlflowc.validation` (what sqlflowc uses), pydantic with deferred model
building, msgspec — on the quickstart's profile and its three CSV sources' parameters, with the
same schemas (`_validation_worker.py`). `sqlflowc compile` of the quickstart and a bare
`python -c pass` are measured beside them: `compile` with another library would cost the
compile's time plus the difference between that library's process and the hand-written one's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from _common import Context, Row, interleaved, log, log_sample, median, time_command, walls
from run_small import PIPELINE, prepare

NAME = "validation"
TITLE = "validation: hand-written vs pydantic (defer_build) vs msgspec, fresh processes"
REPEATS = 10
WORKER = str(Path(__file__).with_name("_validation_worker.py"))


def run(ctx: Context) -> list[Row]:
    project = prepare(ctx, NAME)
    libraries = [
        name for name in ("pydantic", "msgspec") if importlib.util.find_spec(name) is not None
    ]
    actions = {
        "compile": lambda: time_command([ctx.sqlflowc, "compile", PIPELINE], cwd=project),
        "python": lambda: time_command([ctx.python, "-c", "pass"], cwd=project),
        "hand": lambda: time_command([ctx.python, WORKER, "hand"], cwd=project),
    }
    for name in libraries:
        actions[name] = lambda name=name: time_command([ctx.python, WORKER, name], cwd=project)
    samples = interleaved(actions, repeats=REPEATS)
    log_sample("sqlflowc compile", samples["compile"])
    log_sample("python -c pass", samples["python"])
    log_sample("hand-written", samples["hand"])
    compile_wall = median(walls(samples["compile"]))
    hand = median(walls(samples["hand"]))
    rows = []
    for name in libraries:
        log_sample(name, samples[name])
        estimate = compile_wall - hand + median(walls(samples[name]))
        log(f"  `compile` with {name} instead: about {estimate * 1000:.0f} ms "
            f"({estimate / compile_wall:.2f}x today's)")  # fmt: skip
        rows.append(
            Row.measured(
                NAME,
                f"hand_vs_{name}",
                f"import + validate the quickstart's profile and 3 CSV params: "
                f"sqlflowc.validation vs {name}",
                samples["hand"],
                samples[name],
                extra={
                    "compile_wall": compile_wall,
                    "python_wall": median(walls(samples["python"])),
                    "compile_with_it_estimate": estimate,
                },
            )
        )
    if "msgspec" not in libraries:
        log("  msgspec is not installed: its row is left out")
    return rows
