"""Schema drift: a capture compared with the accepted snapshot, and what the policy makes of it.

`capture(store, snapshot, policy, run_id=...)` is called by a run for every source it loads
(before any of its data moves) and every table it writes (after). Contract:
- Unreadable files of the object's history are quarantined (`SnapshotStore.quarantine`: kept
  as `*.corrupt`) and returned in `problems`, so the caller can name them; the capture goes on
  as if they were not there.
- With no accepted snapshot (the first capture, or the accepted one unreadable), the snapshot
  is recorded and accepted, as one baseline file (`SnapshotStore.baseline`): the baseline
  (`Drift.kind == "baseline"`).
- Otherwise it is compared with the accepted snapshot (`compare.compare_columns`, old = the
  accepted). No change: `unchanged` (recorded only when its fingerprint differs from the
  latest's — a change of case in a name —, and then accepted too). Any change is drift,
  compatible or not, and the policy decides:
  - `fail`: the snapshot is recorded as observed and `Drift.stops` is true: the caller fails
    the load before any data moves;
  - `warn` (the default): recorded as observed, reported;
  - `accept`: recorded and accepted, reported.
- A snapshot equal to the latest recorded one is not recorded again (history holds changes
  only), so a steady source costs one small read per run and no write.
- `store` may be a `SnapshotBatch` (what a run passes): the files are then written when the
  caller commits the batch.

`resolve_policy` is the one precedence of the setting: the run's `--schema-drift`, else the
SOURCE's `schema_drift` parameter, else the profile's, else `warn`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

from sqlflowc.lean_dataclass import dataclass
from sqlflowc.schema.snapshot import Snapshot, SnapshotError
from sqlflowc.schema.store import SnapshotBatch, SnapshotStore

if TYPE_CHECKING:  # imported when a capture has something to compare (not a first capture)
    from sqlflowc.schema.compare import Comparison, Verdict

__all__ = [
    "DEFAULT_DRIFT_POLICY",
    "DRIFT_POLICIES",
    "Drift",
    "DriftPolicy",
    "capture",
    "resolve_policy",
]

DriftPolicy = Literal["fail", "warn", "accept"]
DRIFT_POLICIES: tuple[DriftPolicy, ...] = get_args(DriftPolicy)
DEFAULT_DRIFT_POLICY: DriftPolicy = "warn"
DriftKind = Literal["baseline", "unchanged", "drifted"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """What one capture found and did."""

    snapshot: Snapshot
    kind: DriftKind
    policy: DriftPolicy
    accepted: Snapshot | None = None  # the accepted snapshot before this capture
    comparison: Comparison | None = None  # from `accepted` to `snapshot`
    recorded: bool = False
    now_accepted: bool = False
    problems: tuple[SnapshotError, ...] = ()

    @property
    def object(self) -> str:
        return self.snapshot.object

    @property
    def stops(self) -> bool:
        """Whether the load must fail before its data moves (`fail` and drift)."""
        return self.kind == "drifted" and self.policy == "fail"

    @property
    def verdict(self) -> Verdict:
        from sqlflowc.schema.compare import Verdict

        return self.comparison.verdict if self.comparison is not None else Verdict.IDENTICAL


def resolve_policy(
    run: DriftPolicy | None, source: object, profile: DriftPolicy | None
) -> DriftPolicy:
    """The policy of one load: the run's, else the source's parameter, else the profile's."""
    if run is not None:
        return run
    for value in (source, profile):
        for policy in DRIFT_POLICIES:
            if value == policy:
                return policy
    return DEFAULT_DRIFT_POLICY


def capture(
    store: SnapshotStore | SnapshotBatch,
    snap: Snapshot,
    policy: DriftPolicy,
    *,
    run_id: str | None = None,
) -> Drift:
    """Compare `snap` with its object's accepted snapshot and record it; see the module
    docstring."""
    state = store.state(snap.object)
    for problem in state.problems:
        store.quarantine(problem)
    problems = state.problems
    if state.accepted is None:
        store.baseline(snap, run_id=run_id)  # recorded and accepted: one file
        return Drift(
            snapshot=snap,
            kind="baseline",
            policy=policy,
            recorded=True,
            now_accepted=True,
            problems=problems,
        )
    from sqlflowc.schema.compare import Comparison, compare_columns

    accepted = state.accepted
    if snap.fingerprint == accepted.fingerprint:  # the same columns: nothing to compare
        comparison = Comparison(accepted.columns, snap.columns, ())
    else:
        comparison = compare_columns(accepted.columns, snap.columns)
    is_new = state.latest_short != snap.short
    if not comparison.changes:
        if is_new:
            store.record(snap)
        if snap.fingerprint != accepted.fingerprint:
            store.accept(snap, by="same columns", run_id=run_id)
        return Drift(
            snapshot=snap,
            kind="unchanged",
            policy=policy,
            accepted=accepted,
            comparison=comparison,
            recorded=is_new,
            now_accepted=snap.fingerprint != accepted.fingerprint,
            problems=problems,
        )
    if is_new:
        store.record(snap)
    if policy == "accept":
        store.accept(snap, by="schema_drift=accept", run_id=run_id)
    return Drift(
        snapshot=snap,
        kind="drifted",
        policy=policy,
        accepted=accepted,
        comparison=comparison,
        recorded=is_new,
        now_accepted=policy == "accept",
        problems=problems,
    )
