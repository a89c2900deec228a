"""Lower APPEND, MERGE and INCREMENTAL loads to plan steps.

Pure functions: no database access. The backend (`backend/duckdb.py`) calls `lower_load` to
turn a load statement into the step's `sql` and its typed load mode (`plan.Append | plan.Merge |
plan.Incremental`); the executor regenerates the statements after staging with the same
builders (`sqlbuild/loads.py` and `key_checks.py`, through `expected_statements`) against the
schemas it finds, so what `sqlflowc compile` shows and what runs come from one place.

A load step's `sql[0]` is always the *staging* statement, the only one holding the user's query:
`CREATE TEMP VIEW` for APPEND (the data is read once, straight into the target), `CREATE TEMP
TABLE` for MERGE and INCREMENTAL (the data is checked before anything is written). The rest of
`sql` is what runs when the target exists and the source carries every target column; at run
time a missing target is created from the stage, columns are added or widened under `evolve`,
and a source lacking some target columns is merged with `MERGE INTO` instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import assert_never

from sqlflowc.backend.plan import (
    Append,
    CreateTable,
    Incremental,
    IncrementalLoad,
    Load,
    Merge,
    Plan,
    Replace,
    RowKeepingMode,
    Step,
    WindowParameter,
)
from sqlflowc.ir import program as ir
from sqlflowc.names import table_key
from sqlflowc.schema import Policy
from sqlflowc.sqlbuild.key_checks import distinct_keys, key_counts, matched_counts
from sqlflowc.sqlbuild.loads import (
    delete_matched,
    drop_stage,
    incremental_stage,
    insert_from,
    stage_table,
    stage_view,
    watermark_delete,
    watermark_stage,
    window_delete,
    write_state,
)
from sqlflowc.sqlbuild.macros import bind_macros

__all__ = ["expected_statements", "lower_load", "with_schema_policy"]


# ---------------------------------------------------------------------------- plan steps


def lower_load(
    target: str,
    mode: ir.LoadMode,
    query: str,
    step_id: str,
    policy: Policy,
    *,
    from_source: bool = False,
) -> tuple[tuple[str, ...], RowKeepingMode]:
    """The `sql` and the plan's load mode of a non-REPLACE load of `query` into `target`
    (`from_source`: a `LOAD`, whose INCREMENTAL reads past the target's high-water mark)."""
    stage = f"_sqlflow_stage_{step_id}"
    lowered: RowKeepingMode
    match mode:
        case ir.Incremental() if from_source:
            lowered = IncrementalLoad(
                stage=stage,
                schema_policy=policy,
                by=mode.by.value,
                lookback=str(mode.lookback.value) if mode.lookback is not None else None,
                keys=tuple(k.value for k in mode.keys),
            )
            staging = watermark_stage(
                stage, query, lowered.by, inclusive=lowered.lookback is not None
            )
        case ir.Append():
            lowered = Append(stage=stage, schema_policy=policy)
            staging = stage_view(stage, query)
        case ir.Merge():
            keys = tuple(k.value for k in mode.keys)
            lowered = Merge(stage=stage, schema_policy=policy, keys=keys)
            staging = stage_table(stage, query)
        case ir.Incremental():
            bound, used = bind_macros(query)
            always: tuple[WindowParameter, ...] = ("start_dt", "end_dt")
            lowered = Incremental(
                stage=stage,
                schema_policy=policy,
                by=mode.by.value,
                lookback=str(mode.lookback.value) if mode.lookback is not None else None,
                keys=tuple(k.value for k in mode.keys),
                parameters=tuple(sorted({*used, *always})),
                state_key=table_key(target),
            )
            staging = incremental_stage(stage, bound, lowered.by)
        case ir.Replace():
            raise AssertionError("REPLACE is lowered by the backend itself")
        case _:
            assert_never(mode)
    return (staging, *expected_statements(target, lowered)), lowered


def expected_statements(target: str, mode: RowKeepingMode) -> tuple[str, ...]:
    """What runs after staging when the target exists with exactly the source's columns."""
    match mode:
        case Append():
            return (insert_from(target, mode.stage), drop_stage(mode.stage, view=True))
        case Merge():
            return (*_merge_statements(target, mode.stage, mode.keys), drop_stage(mode.stage))
        case Incremental():
            if mode.keys:
                write = _merge_statements(target, mode.stage, mode.keys)
            else:
                write = (window_delete(target, mode.by), insert_from(target, mode.stage))
            return (*write, write_state(), drop_stage(mode.stage))
        case IncrementalLoad():
            if mode.keys:
                write = _merge_statements(target, mode.stage, mode.keys)
            elif mode.lookback is not None:
                write = (watermark_delete(target, mode.by), insert_from(target, mode.stage))
            else:
                write = (insert_from(target, mode.stage),)
            return (*write, drop_stage(mode.stage))
        case _:
            assert_never(mode)


def _merge_statements(target: str, stage: str, keys: Sequence[str]) -> tuple[str, ...]:
    """The key checks (the rows and NULL keys, then the distinct keys, counted; the offending
    keys are listed only when there are any) and the write."""
    return (
        key_counts(stage, keys),
        distinct_keys(stage, keys),
        matched_counts(target, stage, keys),
        delete_matched(target, stage, keys),
        insert_from(target, stage),
    )


def with_schema_policy(plan: Plan, policy: Policy) -> Plan:
    """`plan` with every load's schema policy set to `policy` (`run plan.json
    --schema-policy`: the command line overrides what was compiled in)."""
    return dataclasses.replace(plan, steps=tuple(_with_policy(s, policy) for s in plan.steps))


def _with_policy(step: Step, policy: Policy) -> Step:
    match step:
        case Load() | CreateTable() if not isinstance(step.mode, Replace):
            return dataclasses.replace(
                step, mode=dataclasses.replace(step.mode, schema_policy=policy)
            )
        case _:
            return step
