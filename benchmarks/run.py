"""Run the sqlflowc benchmarks: all of them, or the groups named on the command line.

    python benchmarks/run.py                    # every group
    python benchmarks/run.py startup compile_small
    BENCH_SCALE=0.1 python benchmarks/run.py    # smaller data for a quick run

Each group measures sqlflowc and a baseline in the same run and prints details as it goes;
the table at the end has, per benchmark, our number, the baseline, the difference, the ratio
and the target from the issue. The table is also written to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import big_run
import compile_large
import compile_small
import ledger
import load_modes
import parallel
import per_statement
import plugin_read
import run_small
import schema_capture
import spark
import startup
import tpch
import udfs
import validation
import versus_raw
from _common import (
    Context,
    OtherLoad,
    Row,
    console_script,
    fmt_ratio,
    fmt_time,
    log,
    use_pycache,
)

import postgres  # a section of its own: ruff files it with tests/postgres
import s3

GROUPS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        startup,
        run_small,
        versus_raw,
        compile_small,
        compile_large,
        validation,
        per_statement,
        ledger,
        big_run,
        udfs,
        load_modes,
        tpch,
        schema_capture,
        postgres,
        plugin_read,
        s3,
        spark,
        parallel,
    )
}
NOISY = 0.15  # share of the CPU other work may use before the results get a warning
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("sqlflowc", "duckdb", "sqlglot", "lark", "pydantic", "click"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "load_before": [round(x, 2) for x in load],
    }


def source_state() -> str:
    """The commit measured, and whether the sources differ from it (others may be editing)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "not a git checkout"
    changed = git("status", "--porcelain", "--", "src", "grammar").splitlines()
    return f"{commit}" + (
        f" + {len(changed)} uncommitted change(s) in src/grammar" if changed else ""
    )


def _others_note(share: float | None) -> str:
    return "" if share is None else f"; other work used {share:.0%} of the CPU meanwhile"


def _cpu_ratio(row: Row) -> float | None:
    ours, base = row.extra.get("ours_cpu"), row.extra.get("baseline_cpu")
    return ours / base if ours and base else None


def table(rows: list[Row]) -> str:
    head = (
        "benchmark",
        "ours",
        "baseline",
        "delta",
        "ratio",
        "cpu ratio",
        "target",
        "met",
        "measures",
    )
    body = [
        (
            r.name,
            fmt_time(r.ours),
            fmt_time(r.baseline),
            ("+" if (r.delta or 0) >= 0 else "") + fmt_time(r.delta)
            if r.delta is not None
            else "-",
            fmt_ratio(r.ratio),
            fmt_ratio(_cpu_ratio(r)),
            r.target,
            "-" if r.met is None else ("yes" if r.met else "NO"),
            r.measures,
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    right = {1, 2, 3, 4, 5}

    def fmt(line: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(b) for b in body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"any of: {', '.join(GROUPS)}")
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    selected = args.groups or list(GROUPS)
    scale = float(os.environ.get("BENCH_SCALE", "1") or "1")
    if scale <= 0:
        parser.error("BENCH_SCALE must be positive")

    info: dict[str, Any] = {
        "versions": versions(),
        "machine": machine(),
        "scale": scale,
        "source": source_state(),
    }
    v, m = info["versions"], info["machine"]
    log("sqlflowc benchmarks")
    log(
        f"  Python {v['python']}, sqlflowc {v['sqlflowc']}, DuckDB {v['duckdb']}, "
        f"sqlglot {v['sqlglot']}, lark {v['lark']}"
    )
    log(
        f"  {m['cores']} cores ({m['usable_cores']} usable), load {m['load_before']}, "
        f"{m['platform']}; BENCH_SCALE={scale:g}"
    )
    log(f"  interpreter {sys.executable}; sources {info['source']}")

    workdir = Path(tempfile.mkdtemp(prefix="sqlflowc-bench-"))
    use_pycache(workdir / "pycache")
    ctx = Context(
        scale=scale,
        python=sys.executable,
        sqlflowc=console_script("sqlflowc"),
        workdir=workdir,
    )
    rows: list[Row] = []
    others: dict[str, float | None] = {}
    started = time.perf_counter()
    whole = OtherLoad()
    try:
        for name in selected:
            group = GROUPS[name]
            log(f"\n[{name}] {group.TITLE}")
            t0 = time.perf_counter()
            meter = OtherLoad()
            rows.extend(group.run(ctx))
            others[name] = meter.share()
            log(f"  ({time.perf_counter() - t0:.1f} s{_others_note(others[name])})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    others["all"] = whole.share()
    info["machine"]["other_work_cpu_share"] = others

    log(f"\nresults ({total:.0f} s in all; medians; ratio = ours / baseline, in wall time;")
    log("cpu ratio: the same in CPU time, which other load on the machine disturbs less)\n")
    log(table(rows))
    busy = [n for n, share in others.items() if share is not None and share > NOISY]
    if busy:
        log(
            f"\nNOTE: other work used more than {NOISY:.0%} of the CPU during "
            f"{', '.join(busy)}: wall times there are inflated; trust the ratios more, and "
            "re-run when the machine is quiet."
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **info,
        "groups": selected,
        "seconds": round(total, 1),
        "results": [r.to_json() for r in rows],
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    log(f"\nwritten to {RESULTS}")
    missed = [r.name for r in rows if r.met is False]
    if missed:
        log(f"targets missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
