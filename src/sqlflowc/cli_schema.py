"""`sqlflowc schema ...`: list, show, history, compare and accept schema snapshots.

A thin layer over `sqlflowc.schema` (store, lookup, render). The project is the current
directory's (found as for `sqlflowc udf list`) or `--project DIR`. Output is an aligned table,
or JSON with `--format json`. Exit codes: 0 ok; `compare` 1 when the verdict is breaking;
2 for a usage error (an unknown name or reference, with "did you mean"); 3 when `compare --live`
cannot read the object now. Unreadable snapshot
files are reported on stderr, naming the file, and otherwise skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from sqlflowc.cli_text import EXAMPLES

if TYPE_CHECKING:
    from sqlflowc.schema.snapshot import Snapshot
    from sqlflowc.schema.store import Entry, History, SnapshotStore

EXIT_BREAKING = 1
EXIT_USAGE = 2
EXIT_NOT_READ = 3  # --live could not read the object


def _project(project_dir: Path | None) -> Path:
    from sqlflowc.profiles import find_project_dir

    return project_dir.resolve() if project_dir else find_project_dir(Path.cwd())


def _store(project_dir: Path | None) -> SnapshotStore:
    from sqlflowc.schema.store import SnapshotStore

    return SnapshotStore(_project(project_dir))


def _complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for NAME: the objects with a history, and their bare names."""
    from sqlflowc.schema.snapshot import split_object

    objects = _store(ctx.params.get("project_dir")).objects()
    bare = [split_object(o)[1] for o in objects]
    counts = {b: bare.count(b) for b in bare}
    names = [*objects, *(b for b in bare if counts[b] == 1)]
    return [CompletionItem(n) for n in sorted(set(names)) if n.startswith(incomplete.lower())]


def _complete_refs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for a snapshot reference: @N, accepted, latest, fingerprints."""
    from sqlflowc.schema.lookup import NotFound, resolve_object

    store = _store(ctx.params.get("project_dir"))
    try:
        obj = resolve_object(str(ctx.params.get("name") or ""), store.objects())
    except NotFound:
        return []
    history = store.history(obj)
    refs = ["accepted", "latest", *(f"@{i}" for i in range(len(history.snapshots)))]
    refs += [e.snapshot.short for e in history.snapshots]
    return [CompletionItem(r) for r in dict.fromkeys(refs) if r.startswith(incomplete)]


PROJECT = click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    is_eager=True,
    help="The project whose target/schemas/ to read.",
    show_default="the nearest ancestor of the current directory holding profiles/, "
    "sqlflow.yml or python_udfs/",
)
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="An aligned table, or JSON.",
)
NAME = click.argument("name", shell_complete=_complete_names)


def _usage_error(message: str, help: str = "") -> None:
    click.echo(f"error: {message}", err=True)
    if help:
        click.echo(f"  = help: {help}", err=True)
    sys.exit(EXIT_USAGE)


def _history(store: SnapshotStore, name: str) -> History:
    """The history of the object `name` means; exits 2 when it means none."""
    from sqlflowc.schema.lookup import NotFound, resolve_object

    try:
        obj = resolve_object(name, store.objects())
    except NotFound as err:
        _usage_error(err.message, err.help)
    history = store.history(obj)
    for problem in history.problems:
        click.echo(f"warning: {problem.path}: {problem.reason} (skipped)", err=True)
    return history


def _ref(history: History, ref: str) -> Entry:
    from sqlflowc.schema.lookup import NotFound, resolve_ref

    try:
        return resolve_ref(history, ref)
    except NotFound as err:
        _usage_error(err.message, err.help)
        raise  # unreachable: _usage_error exits


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group("schema", epilog=EXAMPLES["schema"])
def schema_group() -> None:
    """Schema snapshots of sources and tables (target/schemas/): list, inspect, compare,
    accept."""


@schema_group.command("list", epilog=EXAMPLES["schema list"])
@FORMAT
@PROJECT
def list_cmd(fmt: str, project_dir: Path | None) -> None:
    """Every object with a snapshot: accepted fingerprint, pending drift."""
    from sqlflowc.schema.render import history_json, render_list

    store = _store(project_dir)
    histories = [store.history(obj) for obj in store.objects()]
    for problem in [*store.problems(), *(p for h in histories for p in h.problems)]:
        click.echo(f"warning: {problem.path}: {problem.reason} (skipped)", err=True)
    if fmt == "json":
        _echo_json(
            [
                {k: v for k, v in history_json(h).items() if k not in ("snapshots", "acceptances")}
                | {
                    "latest": h.latest.snapshot.fingerprint if h.latest else None,
                    "columns": len(h.accepted.snapshot.columns) if h.accepted else None,
                }
                for h in histories
            ]
        )
    else:
        click.echo(render_list(histories), nl=False)


@schema_group.command("show", epilog=EXAMPLES["schema show"])
@NAME
@click.argument("ref", required=False, shell_complete=_complete_refs)
@FORMAT
@PROJECT
def show_cmd(name: str, ref: str | None, fmt: str, project_dir: Path | None) -> None:
    """The accepted schema of NAME (or the snapshot REF: @N, a fingerprint prefix)."""
    from sqlflowc.schema.render import render_show, snapshot_json

    history = _history(_store(project_dir), name)
    if ref is None:
        entry = history.accepted or history.latest
        if entry is None:
            _usage_error(f"{history.object} has no readable snapshot")
            return
        what = "accepted schema" if entry is history.accepted else "latest snapshot, none accepted"
    else:
        entry = _ref(history, ref)
        what = f"snapshot {ref}"
    if fmt == "json":
        accepted = history.accepted
        _echo_json(
            snapshot_json(entry.snapshot)
            | {
                "accepted": accepted is not None
                and accepted.snapshot.fingerprint == entry.snapshot.fingerprint,
                "drift_pending": history.pending,
            }
        )
    else:
        click.echo(render_show(history, entry, what), nl=False)


@schema_group.command("history", epilog=EXAMPLES["schema history"])
@NAME
@FORMAT
@PROJECT
def history_cmd(name: str, fmt: str, project_dir: Path | None) -> None:
    """Snapshots of NAME, newest first: fingerprint, time, run, status, changes."""
    from sqlflowc.schema.render import history_json, render_history

    history = _history(_store(project_dir), name)
    if fmt == "json":
        _echo_json(history_json(history))
    else:
        click.echo(render_history(history), nl=False)


@schema_group.command("compare", epilog=EXAMPLES["schema compare"])
@NAME
@click.argument("refs", nargs=-1, shell_complete=_complete_refs)
@click.option(
    "--live",
    is_flag=True,
    help="Compare with the schema the source or table has now (metadata only).",
)
@click.option(
    "--pipeline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --live: the pipeline declaring the source.",
    show_default="the one that captured it",
)
@click.option("--profile", metavar="NAME", help="With --live: the profile.", show_default="dev")
@click.option(
    "--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="With --live: a variable."
)
@FORMAT
@PROJECT
def compare_cmd(
    name: str,
    refs: tuple[str, ...],
    live: bool,
    pipeline: Path | None,
    profile: str | None,
    var_pairs: tuple[str, ...],
    fmt: str,
    project_dir: Path | None,
) -> None:
    """Compare two snapshots of NAME: by default the accepted one and the latest; with A, the
    accepted one and A; with A B, A and B; with --live, the accepted one (or A) and the schema
    NAME has now. Exit 1 when a change is breaking."""
    from sqlflowc.schema.compare import Verdict, compare_columns
    from sqlflowc.schema.render import render_comparison, snapshot_json

    if len(refs) > (1 if live else 2):
        most = "one snapshot with --live" if live else "two snapshots"
        _usage_error(f"compare takes at most {most}, got {len(refs)}")
    store = _store(project_dir)
    history = _history(store, name)
    if live:
        labels = (refs[0] if refs else "accepted", "live")
        old = _ref(history, labels[0]).snapshot
        new = _live(history, store.root.parent.parent, pipeline, profile, var_pairs)
    elif len(refs) == 2:
        labels = (refs[0], refs[1])
        old, new = _ref(history, refs[0]).snapshot, _ref(history, refs[1]).snapshot
    else:
        labels = ("accepted", refs[0] if refs else "latest")
        old, new = _ref(history, labels[0]).snapshot, _ref(history, labels[1]).snapshot
    comparison = compare_columns(old.columns, new.columns)
    if fmt == "json":
        _echo_json(
            {
                "object": history.object,
                "old": snapshot_json(old) | {"ref": labels[0]},
                "new": snapshot_json(new) | {"ref": labels[1]},
                **comparison.to_dict(),
            }
        )
    else:
        text = render_comparison(history.object, old, labels[0], new, labels[1], comparison)
        click.echo(text, nl=False)
    if comparison.verdict is Verdict.BREAKING:
        sys.exit(EXIT_BREAKING)


def _live(
    history: History,
    project: Path,
    pipeline: Path | None,
    profile: str | None,
    var_pairs: tuple[str, ...],
) -> Snapshot:
    """A snapshot of what NAME is now (not recorded)."""
    from sqlflowc.cli_common import parse_vars, print_diagnostics
    from sqlflowc.diagnostics import CompileError
    from sqlflowc.live_schema import LiveSchemaError, live_schema
    from sqlflowc.schema.snapshot import Snapshot

    latest = history.latest
    shown = str(pipeline) if pipeline else (latest.snapshot.pipeline if latest else None)
    try:
        columns, origin = live_schema(
            history.object,
            project_dir=project,
            pipeline=shown,
            profile=profile,
            cli_vars=parse_vars(var_pairs, None),
        )
    except CompileError as err:
        print_diagnostics(err.diagnostics, err.sources, "text")
        click.echo(f"error: {shown} does not compile: {history.object} was not read", err=True)
        sys.exit(EXIT_NOT_READ)
    except LiveSchemaError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_NOT_READ)
    return Snapshot.capture(history.object, columns, origin=origin, pipeline=shown or "")


@schema_group.command("accept", epilog=EXAMPLES["schema accept"])
@click.argument("names", nargs=-1, shell_complete=_complete_names)
@click.option("--all", "accept_all", is_flag=True, help="Every object with drift pending.")
@FORMAT
@PROJECT
def accept_cmd(
    names: tuple[str, ...], accept_all: bool, fmt: str, project_dir: Path | None
) -> None:
    """Make the latest snapshot of each NAME (or of every object, --all) the accepted one."""
    from sqlflowc.schema.compare import compare_columns
    from sqlflowc.schema.render import summary

    if bool(names) == accept_all:
        _usage_error("name the objects to accept, or give --all (not both)")
    store = _store(project_dir)
    if accept_all:
        histories = [h for h in (store.history(o) for o in store.objects()) if h.pending]
    else:
        histories = [_history(store, n) for n in dict.fromkeys(names)]
    done: list[dict[str, Any]] = []
    for history in histories:
        latest, before = history.latest, history.accepted
        if latest is None:
            _usage_error(f"{history.object} has no readable snapshot to accept")
            return
        if not history.pending:
            done.append(
                {
                    "object": history.object,
                    "fingerprint": latest.snapshot.fingerprint,
                    "changed": False,
                }
            )
            if fmt == "text":
                click.echo(f"{history.object}: {latest.snapshot.short} is already accepted")
            continue
        store.accept(latest.snapshot, by="schema accept")
        comparison = (
            compare_columns(before.snapshot.columns, latest.snapshot.columns) if before else None
        )
        done.append(
            {
                "object": history.object,
                "fingerprint": latest.snapshot.fingerprint,
                "previous": before.snapshot.fingerprint if before else None,
                "changed": True,
                "changes": comparison.to_dict() if comparison else None,
            }
        )
        if fmt == "text":
            was = f" (was {before.snapshot.short}: {summary(comparison)})" if before else ""
            click.echo(f"{history.object}: accepted {latest.snapshot.short}{was}")
    if fmt == "json":
        _echo_json(done)
    elif accept_all and not histories:
        click.echo("no drift pending: nothing to accept")
