"""What every benchmark group shares: the context, timing helpers and the result row.

A group is a module with `NAME`, `TITLE` and `run(ctx) -> list[Row]`. Times are seconds
everywhere; the table formats them. Ours and the baseline are always measured in the same run,
interleaved (A B A B ...), so a noisy neighbour on the shared machine hits both alike.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True, slots=True)
class Context:
    """What a group needs to know about this run."""

    scale: float
    python: str
    sqlflowc: str
    workdir: Path  # a temp dir for this run; removed at the end

    def scaled(self, n: int, minimum: int = 1) -> int:
        return max(minimum, round(n * self.scale))


@dataclass(slots=True)
class Row:
    """One line of the results table. `ours`, `baseline` and `delta` are seconds.

    `met` is whether the target is met (None: no target for this row).
    """

    group: str
    name: str
    measures: str
    ours: float
    baseline: float | None
    target: str = "-"
    met: bool | None = None
    samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def measured(
        cls,
        group: str,
        name: str,
        measures: str,
        ours: Sequence[Timing],
        baseline: Sequence[Timing],
        **kw: Any,
    ) -> Row:
        """A row from two samples: wall medians in the columns, CPU times and every sample
        in `extra`."""
        extra = {
            "ours_cpu": median(cpus(ours)),
            "baseline_cpu": median(cpus(baseline)),
            "paired_ratio": paired_ratio(ours, baseline),
            "ours_wall_samples": walls(ours),
            "baseline_wall_samples": walls(baseline),
            "ours_cpu_samples": cpus(ours),
            "baseline_cpu_samples": cpus(baseline),
            **kw.pop("extra", {}),
        }
        return cls(
            group=group,
            name=name,
            measures=measures,
            ours=median(walls(ours)),
            baseline=median(walls(baseline)),
            samples=len(ours),
            extra=extra,
            **kw,
        )

    @property
    def ratio(self) -> float | None:
        return self.ours / self.baseline if self.baseline else None

    @property
    def delta(self) -> float | None:
        return self.ours - self.baseline if self.baseline is not None else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["delta"] = self.delta
        return out


def log(message: str) -> None:
    print(message, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """`min..max` of a sample, for the detail lines."""
    return f"{fmt_time(min(values))}..{fmt_time(max(values))}"


def log_sample(label: str, values: Sequence[Timing], note: str = "") -> None:
    """A detail line: the median wall time of a sample, its size and range, and the median CPU
    time (all threads of the process, or of the child process)."""
    wall = [t.wall for t in values]
    line = f"  {label:<28} median of {len(values):>2}: {fmt_time(median(wall)):>9}"
    cpu = fmt_time(median([t.cpu for t in values]))
    log(f"{line}  (range {spread(wall)}; cpu {cpu}){note}")


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s >= 1:
        return f"{sign}{s:.2f} s"
    if s >= 0.01:
        return f"{sign}{s * 1000:.0f} ms"
    return f"{sign}{s * 1000:.2f} ms"


def fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def console_script(name: str) -> str:
    """The console script installed next to the running interpreter."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find the `{name}` console script next to {sys.executable}")
    return found


def run_checked(
    argv: Sequence[str], *, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure show its output and stop (a broken benchmark is no number)."""
    proc = subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, env=child_env(), check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(argv)}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


class Timing(NamedTuple):
    """Wall and CPU seconds of one measured action."""

    wall: float
    cpu: float


def walls(values: Sequence[Timing]) -> list[float]:
    return [t.wall for t in values]


def cpus(values: Sequence[Timing]) -> list[float]:
    return [t.cpu for t in values]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: Sequence[str], *, cwd: Path | None = None) -> Timing:
    """One run of a command (output discarded, failure is an error)."""
    env = child_env()
    c0 = _cpu(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    cpu = _cpu(resource.RUSAGE_CHILDREN) - c0
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode()}"
        )
    return Timing(elapsed, cpu)


class Clock:
    """Times a block in this process: `with Clock() as c: ...; c.timing`."""

    timing: Timing

    def __enter__(self) -> Clock:
        self._c0 = _cpu(resource.RUSAGE_SELF)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._t0
        self.timing = Timing(wall, _cpu(resource.RUSAGE_SELF) - self._c0)


def interleaved(
    actions: Mapping[str, Callable[[], Timing]], repeats: int, warmup: int = 1
) -> dict[str, list[Timing]]:
    """Call each action `warmup` times untimed, then `repeats` rounds of all of them in turn
    (the order rotates each round); each action returns its own measured time."""
    for _ in range(warmup):
        for action in actions.values():
            action()
    names = list(actions)
    samples: dict[str, list[Timing]] = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            samples[n].append(actions[n]())
    return samples


def _system_busy() -> float | None:
    """CPU seconds the whole machine has been busy since boot (Linux), else None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait are busy
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """How much of the machine other work used while we measured: the machine's busy CPU time
    minus this process's and its children's, over wall time x cores.

    The load average cannot tell: it counts our own benchmark processes too.
    """

    def __init__(self) -> None:
        self._t0 = time.perf_counter()
        self._busy0 = _system_busy()
        self._ours0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)

    def share(self) -> float | None:
        busy = _system_busy()
        if busy is None or self._busy0 is None:
            return None
        wall = time.perf_counter() - self._t0
        ours = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - self._ours0
        return max(0.0, (busy - self._busy0) - ours) / (wall * (os.cpu_count() or 1))


def paired_ratio(ours: Sequence[Timing], baseline: Sequence[Timing]) -> float:
    """The median of the per-round ratios: rounds ran back to back, so load that comes and
    goes hits both halves of a pair alike."""
    return median([a.wall / b.wall for a, b in zip(ours, baseline, strict=True)])


_PYCACHE: list[Path] = []


def use_pycache(prefix: Path) -> None:
    """Let every measured Python process read and write bytecode under `prefix`.

    Without this, an environment with PYTHONDONTWRITEBYTECODE=1 (or a checkout whose sources
    changed since their .pyc was written) compiles the changed modules in every run, and a
    start-up benchmark measures the compiler. A private prefix keeps the checkout untouched;
    the untimed warm-up runs fill it.
    """
    prefix.mkdir(parents=True, exist_ok=True)
    _PYCACHE[:] = [prefix]
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    if _PYCACHE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE[0])
    return env


def raw_duckdb_script(statements: Sequence[str], database: str = "raw.duckdb") -> str:
    """A Python script issuing `statements` on a DuckDB database file, as one would write it
    by hand (import duckdb, connect, execute, close): the baseline of whole-process benchmarks.
    It makes `raw_out/` for the exports."""
    return (
        "import os\n"
        "import duckdb\n"
        "os.makedirs('raw_out', exist_ok=True)\n"
        f"con = duckdb.connect({database!r})\n"
        f"for sql in {list(statements)!r}:\n"
        "    con.execute(sql)\n"
        "con.close()\n"
    )
