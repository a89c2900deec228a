"""Run by compile_large in a fresh process: time a first compile (imports included), then warm
ones, and print the (wall, cpu) times as JSON. Kept free of imports before the clock starts.

    python _compile_worker.py ours|baseline PROJECT_DIR WARM_REPEATS
    python _compile_worker.py cold|cached PROJECT_DIR 0

`cold` and `cached` go through the compile cache as `sqlflowc run` does: `cold` compiles with an
empty cache (and stores the plan), `cached` looks the plan up (every input checked, the plan
unpickled); each prints the time of that one call, imports included.
"""

import json
import sys
import time


def main() -> None:
    mode, project, warm = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(f"{project}/pipelines/large.sf", encoding="utf-8") as fh:
        text = fh.read()
    with open(f"{project}/bodies.json", encoding="utf-8") as fh:
        bodies = json.load(fh)
    with open(f"{project}/grammar.lark", encoding="utf-8") as fh:
        grammar = fh.read()
    info: dict[str, object] = {}

    if mode in ("cold", "cached"):
        print(json.dumps(_through_cache(mode, project)))
        return
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "ours":
        from pathlib import Path

        from sqlflowc.api import compile_source

        path = f"{project}/pipelines/large.sf"

        def once() -> None:
            comp = compile_source(text, path, project_dir=Path(project))
            info["steps"] = len(comp.plan.steps)
            info["warnings"] = [d.message for d in comp.warnings]

    else:
        import sqlglot
        from lark import Lark

        parser = None

        def once() -> None:
            nonlocal parser
            if parser is None:  # built once, like the project's cached parser
                parser = Lark(
                    grammar,
                    parser="lalr",
                    lexer="contextual",
                    propagate_positions=True,
                    maybe_placeholders=True,
                    cache=True,
                )
            tree = parser.parse(text)
            for body in bodies:
                sqlglot.parse_one(body, dialect="duckdb")
            info["statements"] = len(tree.children)

    once()
    first = (time.perf_counter() - t0, time.process_time() - c0)
    warm_times = []
    for _ in range(warm):
        t, c = time.perf_counter(), time.process_time()
        once()
        warm_times.append((time.perf_counter() - t, time.process_time() - c))
    print(json.dumps({"first": first, "warm": warm_times, **info}))


def _through_cache(mode: str, project: str) -> dict[str, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    from pathlib import Path

    from sqlflowc import compile_cache

    root = Path(project)
    request = compile_cache.Request(
        root / "pipelines" / "large.sf", {}, None, root, None, None, True, None
    )
    if mode == "cold":
        compile_cache.clear(root)
        comp = compile_cache.compile_cached(request, verify_sql=True)
        steps = len(comp.plan.steps)
    else:
        hit = compile_cache.lookup(request, root)
        if hit is None:
            raise SystemExit("compile_large: the cached plan was not found")
        steps = len(hit.plan.steps)
    return {"first": (time.perf_counter() - t0, time.process_time() - c0), "steps": steps}


if __name__ == "__main__":
    main()
