"""Where sqlflowc spends its time: not a benchmark, a tool to re-run after a change.

    python benchmarks/profile_compile.py imports [compile|run]   # -X importtime, summarised
    python benchmarks/profile_compile.py stages [quickstart|large] [--cprofile N]

`imports` runs the CLI on a copy of the quickstart example under `-X importtime` (five times,
medians) and lists the import cost by top-level package and the slowest modules. `stages`
compiles in this (fresh) process: the import of each stage's module, then the first compile
and warm compiles with each stage timed (every stage function is wrapped where it is defined,
so `api.compile_source` picks up the wrapper); `--cprofile N` adds the N functions with the
most own time in a warm compile.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import importlib
import importlib.util
import io
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import EXAMPLES, child_env, console_script, use_pycache

_STAGE_IMPORT = re.compile(r"^\s+from (sqlflowc[\w.]*) import ([\w, ]+)$", re.MULTILINE)


def compile_stages() -> list[tuple[str, str]]:
    """The functions `api.compile_source` imports and calls (module, name), in call order.
    Read from its source text (without importing it), so a new pass shows up by itself."""
    spec = importlib.util.find_spec("sqlflowc.api")
    assert spec is not None and spec.origin is not None
    text = Path(spec.origin).read_text(encoding="utf-8")
    start = text.index("def compile_source(")
    end = text.find("\ndef ", start + 1)
    source = text[start : end if end > 0 else len(text)]
    imports = list(_STAGE_IMPORT.finditer(source))
    body = source[imports[-1].end() :] if imports else source
    found = []
    for m in imports:
        for name in (n.strip() for n in m[2].split(",")):
            at = re.search(rf"\b{name}\b", body)
            if at is not None and not name[0].isupper():  # a class (PassContext) is no stage
                found.append((at.start(), m[1], name))
    return [(module, name) for _, module, name in sorted(found)]


# Bytecode for the profiled processes (see `_common.use_pycache`); kept between runs.
PYCACHE = Path(tempfile.gettempdir()) / "sqlflowc-prof-pycache"
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _quickstart() -> Path:
    project = Path(tempfile.mkdtemp(prefix="sqlflowc-prof-")) / "quickstart"
    import shutil

    shutil.copytree(EXAMPLES / "quickstart", project, ignore=shutil.ignore_patterns("target"))
    return project


def imports(command: str, runs: int = 5) -> None:
    project = _quickstart()
    argv = [sys.executable, "-X", "importtime", console_script("sqlflowc"), command]
    argv += ["pipelines/quickstart.sf"] + (["--db", ":memory:"] if command == "run" else [])
    env = child_env()
    subprocess.run(argv, cwd=project, env=env, capture_output=True, check=True)  # warm caches
    by_package: dict[str, list[float]] = collections.defaultdict(list)
    by_module: dict[str, list[float]] = collections.defaultdict(list)
    totals: list[float] = []
    for _ in range(runs):
        proc = subprocess.run(
            argv, cwd=project, env=env, capture_output=True, text=True, check=True
        )
        err = proc.stderr
        package: collections.Counter[str] = collections.Counter()
        total = 0
        for line in err.splitlines():
            m = _IMPORT_LINE.match(line)
            if not m:
                continue
            own, cumulative, name = int(m[1]), int(m[2]), m[4]
            package[name.split(".")[0]] += own
            by_module[name].append(own / 1000)
            if not m[3]:
                total += cumulative
        totals.append(total / 1000)
        for name, us in package.items():
            by_package[name].append(us / 1000)
    print(
        f"`sqlflowc {command}` on the quickstart: imports take {statistics.median(totals):.0f} ms"
    )
    print("(medians of", runs, "runs under -X importtime, which itself adds some overhead)\n")
    print("own import time by top-level package:")
    for name, values in sorted(by_package.items(), key=lambda kv: -statistics.median(kv[1]))[:15]:
        print(f"  {statistics.median(values):7.1f} ms  {name}")
    print("\nslowest modules (own time: the module body, not its imports):")
    for name, values in sorted(by_module.items(), key=lambda kv: -statistics.median(kv[1]))[:20]:
        print(f"  {statistics.median(values):7.1f} ms  {name}")


def _wrap(stages: list[tuple[str, str]], timings: dict[str, list[float]]) -> None:
    for module_name, func_name in stages:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, func_name, None)
        if original is None:
            continue

        def timed(
            *args: Any, _f: Callable[..., Any] = original, _n: str = func_name, **kwargs: Any
        ) -> Any:
            t0 = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                timings[_n].append(time.perf_counter() - t0)

        setattr(module, func_name, timed)


def stages(which: str, cprofile: int) -> None:
    stages = compile_stages()
    modules = ["sqlflowc.api", "sqlflowc.syntax.parser", *(m for m, _ in stages)]
    script = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    subprocess.run([sys.executable, "-c", script], env=child_env(), check=True)  # fill the pycache
    t0 = time.perf_counter()
    from sqlflowc import api

    print(f"import sqlflowc.api: {(time.perf_counter() - t0) * 1000:.0f} ms")
    for module_name, _ in stages:
        t = time.perf_counter()
        try:
            importlib.import_module(module_name)
        except ImportError:
            continue
        print(f"  import {module_name:<36} {(time.perf_counter() - t) * 1000:6.1f} ms")
    from sqlflowc.syntax.parser import build_parser

    t = time.perf_counter()
    build_parser()
    print(
        f"  build_parser() (from Lark's cache)         {(time.perf_counter() - t) * 1000:6.1f} ms"
    )

    if which == "quickstart":
        project = _quickstart()
        path = project / "pipelines" / "quickstart.sf"
    else:
        import compile_large

        project = Path(tempfile.mkdtemp(prefix="sqlflowc-prof-"))
        compile_large.generate(project)
        path = project / "pipelines" / "large.sf"
    text = path.read_text(encoding="utf-8")

    timings: dict[str, list[float]] = collections.defaultdict(list)
    _wrap(stages, timings)
    totals = []
    for _ in range(6):
        t = time.perf_counter()
        api.compile_source(text, str(path), project_dir=project)
        totals.append(time.perf_counter() - t)
    print(f"\ncompile_source of {which}: first {totals[0] * 1000:.1f} ms, ", end="")
    print(f"warm median {statistics.median(totals[1:]) * 1000:.1f} ms")
    print(f"  {'stage':<20} {'first':>9} {'warm':>9}")
    for _, name in stages:
        if name in timings:
            first, warm = timings[name][0], statistics.median(timings[name][1:])
            print(f"  {name:<20} {first * 1000:7.1f} ms {warm * 1000:7.1f} ms")
    if cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        api.compile_source(text, str(path), project_dir=project)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(cprofile)
        print("\n" + out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p_imports = sub.add_parser("imports")
    p_imports.add_argument("command", nargs="?", default="compile", choices=["compile", "run"])
    p_stages = sub.add_parser("stages")
    p_stages.add_argument("which", nargs="?", default="quickstart", choices=["quickstart", "large"])
    p_stages.add_argument("--cprofile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    use_pycache(PYCACHE)
    if args.mode == "imports":
        imports(args.command)
    else:
        stages(args.which, args.cprofile)


if __name__ == "__main__":
    main()
