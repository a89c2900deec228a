"""Lower APPEND, MERGE and INCREMENTAL loads to plan steps, and read them back (§5.2-5.4).

Pure functions: no database access. The backend (`backend/duckdb.py`) calls `lower_load` to
turn a load statement into a step's `sql` and `details`; the executor calls `spec_from_details`
to get the typed load back (`AppendLoad | MergeLoad | IncrementalLoad`) and regenerates the
statements with the same builders (`backend/load_sql.py`) against the schemas it finds, so what
`sqlflowc compile` shows and what runs come from one place.

A load step's `sql[0]` is always the *staging* statement, the only one holding the user's query:
`CREATE TEMP VIEW` for APPEND (the data is read once, straight into the target), `CREATE TEMP
TABLE` for MERGE and INCREMENTAL (the data is checked before anything is written). The rest of
`sql` is what runs when the target exists and the source carries every target column; at run
time a missing target is created from the stage, columns are added or widened under `evolve`,
and a source lacking some target columns is merged with `MERGE INTO` instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from sqlflowc.backend.load_sql import (
    MACROS,
    STATE_TABLE,
    bind_macros,
    delete_matched,
    drop_stage,
    duplicate_keys,
    incremental_stage,
    insert_from,
    matched_counts,
    null_keys,
    stage_table,
    stage_view,
    window_delete,
    write_state,
)
from sqlflowc.backend.plan import Plan
from sqlflowc.ir import program as ir
from sqlflowc.schema import Policy

__all__ = [
    "AppendLoad",
    "IncrementalLoad",
    "LoadSpec",
    "MergeLoad",
    "lower_load",
    "spec_from_details",
    "with_schema_policy",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendLoad:
    target: str
    stage: str
    policy: Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeLoad:
    target: str
    stage: str
    policy: Policy
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IncrementalLoad:
    """`keys` empty: delete the window, insert the stage; else merge on the keys.
    `parameters` are the named parameters the staging statement uses."""

    target: str
    stage: str
    policy: Policy
    by: str
    lookback: str | None
    keys: tuple[str, ...]
    parameters: tuple[str, ...]
    state_key: str


LoadSpec = AppendLoad | MergeLoad | IncrementalLoad


# ---------------------------------------------------------------------------- plan steps


def lower_load(
    target: str, mode: ir.LoadMode, query: str, step_id: str, policy: Policy
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The `sql` and `details` of a non-REPLACE load of `query` into `target`."""
    stage = f"_sqlflow_stage_{step_id}"
    spec: LoadSpec
    match mode:
        case ir.Append():
            spec = AppendLoad(target=target, stage=stage, policy=policy)
            staging = stage_view(stage, query)
        case ir.Merge():
            keys = tuple(k.value for k in mode.keys)
            spec = MergeLoad(target=target, stage=stage, policy=policy, keys=keys)
            staging = stage_table(stage, query)
        case ir.Incremental():
            bound, used = bind_macros(query)
            spec = IncrementalLoad(
                target=target,
                stage=stage,
                policy=policy,
                by=mode.by.value,
                lookback=str(mode.lookback.value) if mode.lookback is not None else None,
                keys=tuple(k.value for k in mode.keys),
                parameters=tuple(sorted({*used, "start_dt", "end_dt"})),
                state_key=ir.table_key(target),
            )
            staging = incremental_stage(stage, bound, spec.by)
        case ir.Replace():
            raise AssertionError("REPLACE is lowered by the backend itself")
        case _:
            assert_never(mode)
    return (staging, *expected_statements(spec)), to_details(spec)


def expected_statements(spec: LoadSpec) -> tuple[str, ...]:
    """What runs after staging when the target exists with exactly the source's columns."""
    match spec:
        case AppendLoad():
            return (insert_from(spec.target, spec.stage), drop_stage(spec.stage, view=True))
        case MergeLoad():
            return (*_merge_statements(spec.target, spec.stage, spec.keys), drop_stage(spec.stage))
        case IncrementalLoad():
            if spec.keys:
                write = _merge_statements(spec.target, spec.stage, spec.keys)
            else:
                write = (window_delete(spec.target, spec.by), insert_from(spec.target, spec.stage))
            return (*write, write_state(), drop_stage(spec.stage))
        case _:
            assert_never(spec)


def _merge_statements(target: str, stage: str, keys: Sequence[str]) -> tuple[str, ...]:
    return (
        null_keys(stage, keys),
        duplicate_keys(stage, keys),
        matched_counts(target, stage, keys),
        delete_matched(target, stage, keys),
        insert_from(target, stage),
    )


def to_details(spec: LoadSpec) -> dict[str, Any]:
    """The step's `details` for a load spec (plain JSON data)."""
    out: dict[str, Any]
    match spec:
        case AppendLoad():
            out = {"mode": "append"}
        case MergeLoad():
            out = {"mode": "merge", "keys": list(spec.keys)}
        case IncrementalLoad():
            out = {
                "mode": "incremental",
                "by": spec.by,
                "lookback": spec.lookback,
                "keys": list(spec.keys),
                "parameters": list(spec.parameters),
                "state_table": STATE_TABLE,
                "state_key": spec.state_key,
            }
        case _:
            assert_never(spec)
    out["schema_policy"] = spec.policy
    out["stage"] = spec.stage
    return out


def spec_from_details(target: str | None, details: Mapping[str, Any]) -> LoadSpec | None:
    """The load spec of a step, None for a REPLACE (or non-load) step.

    Raises ValueError naming the field when `details` is malformed (a hand-edited plan).
    """
    mode = details.get("mode")
    if mode in (None, "replace"):
        return None
    if not isinstance(target, str) or not target:
        raise ValueError("a load step needs a `target`")
    policy: Policy
    match details.get("schema_policy"):
        case "strict":
            policy = "strict"
        case "evolve":
            policy = "evolve"
        case other:
            raise ValueError(f"`schema_policy` must be strict or evolve, not {other!r}")
    stage = _field(details, "stage", str)
    match mode:
        case "append":
            return AppendLoad(target=target, stage=stage, policy=policy)
        case "merge":
            keys = _keys(details)
            if not keys:
                raise ValueError("a merge needs `keys`")
            return MergeLoad(target=target, stage=stage, policy=policy, keys=keys)
        case "incremental":
            lookback = details.get("lookback")
            if lookback is not None and not isinstance(lookback, str):
                raise ValueError("`lookback` must be a string or null")
            params = details.get("parameters")
            if not isinstance(params, list) or not set(params) <= set(MACROS):
                raise ValueError(f"`parameters` must be a list of {', '.join(MACROS)}")
            return IncrementalLoad(
                target=target,
                stage=stage,
                policy=policy,
                by=_field(details, "by", str),
                lookback=lookback,
                keys=_keys(details),
                parameters=tuple(params),
                state_key=_field(details, "state_key", str),
            )
    raise ValueError(f"unknown load mode {mode!r}")


def _field(details: Mapping[str, Any], name: str, kind: type[str]) -> str:
    value = details.get(name)
    if not isinstance(value, kind) or not value:
        raise ValueError(f"`{name}` must be a non-empty string")
    return value


def _keys(details: Mapping[str, Any]) -> tuple[str, ...]:
    keys = details.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ValueError("`keys` must be a list of column names")
    return tuple(keys)


def with_schema_policy(plan: Plan, policy: str) -> Plan:
    """`plan` with every load step's schema policy set to `policy` (`run plan.json
    --schema-policy`: the command line overrides what was compiled in)."""
    steps = tuple(
        dataclasses.replace(s, details={**s.details, "schema_policy": policy})
        if s.details.get("mode") not in (None, "replace") and "schema_policy" in s.details
        else s
        for s in plan.steps
    )
    return dataclasses.replace(plan, steps=steps)
