"""`sqlflowc graph --format html`: a layered layout whose labels fit their boxes, whose edges do
not cross needlessly, with a legend, self-contained — checked on the pages the CLI writes for
the example pipelines, geometrically, and rendered in headless Chromium where it is installed.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sqlflowc.cli import cli
from sqlflowc.graph_html import KIND_SIZE, TARGET_SIZE
from sqlflowc.graph_layout import count_crossings, layered_layout

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*/pipelines/*.sf"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_NUMBER = r"-?[0-9.]+"


def graph_html(pipeline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(pipeline.parent.parent)
    out = tmp_path / f"{pipeline.stem}.html"
    result = CliRunner().invoke(
        cli,
        [
            "graph",
            str(pipeline.relative_to(pipeline.parent.parent)),
            "--format",
            "html",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def boxes(page: str) -> dict[str, tuple[float, float, float, float, list[str]]]:
    """step id → (x, y, w, h, texts) from the SVG."""
    out = {}
    for g in re.finditer(r'<g class="node" data-step="([^"]+)">(.*?)</g>', page, re.DOTALL):
        rect = re.search(
            rf'<rect x="({_NUMBER})" y="({_NUMBER})" width="({_NUMBER})" height="({_NUMBER})"',
            g.group(2),
        )
        assert rect is not None
        texts = re.findall(r"<text [^>]*>([^<]*)</text>", g.group(2))
        x, y, w, h = (float(v) for v in rect.groups())
        out[g.group(1)] = (x, y, w, h, texts)
    return out


def polylines(page: str) -> list[list[tuple[float, float]]]:
    """Each edge's path, its curves sampled into short straight pieces."""
    lines = []
    for d in re.findall(r'<path class="edge" d="([^"]+)"', page):
        tokens = re.findall(r"[MCL]|" + _NUMBER, d)
        points: list[tuple[float, float]] = []
        i = 0
        while i < len(tokens):
            op = tokens[i]
            nums = []
            i += 1
            while i < len(tokens) and tokens[i] not in "MCL":
                nums.append(float(tokens[i]))
                i += 1
            pairs = list(zip(nums[::2], nums[1::2], strict=True))
            if op in "ML":
                points.extend(pairs)
            else:  # cubic from the last point
                p0, (p1, p2, p3) = points[-1], pairs
                for k in range(1, 17):
                    t = k / 16
                    points.append(
                        tuple(  # type: ignore[arg-type]
                            (1 - t) ** 3 * a
                            + 3 * (1 - t) ** 2 * t * b
                            + 3 * (1 - t) * t**2 * c
                            + t**3 * e
                            for a, b, c, e in zip(p0, p1, p2, p3, strict=True)
                        )
                    )
        lines.append(points)
    return lines


def _cross(
    p: tuple[float, float], q: tuple[float, float], r: tuple[float, float], s: tuple[float, float]
) -> bool:
    def orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2, d3, d4 = orient(r, s, p), orient(r, s, q), orient(p, q, r), orient(p, q, s)
    return d1 * d2 < -1e-6 and d3 * d4 < -1e-6


def edge_crossings(page: str) -> int:
    """Pairs of edges whose drawn paths cross (edges sharing an end may touch there)."""
    lines = polylines(page)
    count = 0
    for a, b in itertools.combinations(lines, 2):
        segments_a = list(itertools.pairwise(a))
        segments_b = list(itertools.pairwise(b))
        if any(_cross(p, q, r, s) for p, q in segments_a for r, s in segments_b):
            count += 1
    return count


@pytest.mark.parametrize("pipeline", EXAMPLES, ids=lambda p: f"{p.parents[1].name}/{p.stem}")
def test_example_graphs(pipeline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = graph_html(pipeline, tmp_path, monkeypatch)
    found = boxes(page)
    assert found, "no step drawn"
    # Self-contained: no script, no stylesheet or font fetched from anywhere.
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert re.findall(r"(?:https?:)?//[\w.-]+", page) == ["http://www.w3.org"]
    # Every label fits its box (monospace: 0.6 em per character, 0.62 to be safe).
    for step, (_x, _y, w, _h, (kind, target)) in found.items():
        assert len(kind) * KIND_SIZE * 0.62 <= w, step
        assert len(target.replace("&amp;", "&")) * TARGET_SIZE * 0.62 <= w, step
    # Boxes of one layer never overlap.
    for (sa, a), (sb, b) in itertools.combinations(found.items(), 2):
        if a[1] == b[1]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0], (sa, sb)
    # The legend names every kind of step drawn.
    legend = re.search(r'<ul class="legend">(.*?)</ul>', page, re.DOTALL)
    assert legend is not None
    for kind in {t[4][0].split(" · ")[0] for t in found.values()}:
        assert f"<b>{kind}</b>" in legend.group(1)
    # These pipelines can all be drawn without any edge crossing another.
    assert edge_crossings(page) == 0


def test_long_targets_are_cut_in_the_middle_and_shown_in_full_on_hover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pipelines").mkdir()
    long_name = "report_" + "very_" * 20 + "long.csv"
    (tmp_path / "pipelines" / "p.sf").write_text(
        f'CREATE TABLE t AS SELECT 1 AS n;\nEXPORT t TO "target/{long_name}" TYPE CSV;\n'
        'CREATE TABLE "a<b&c" AS SELECT * FROM t;\n',
        encoding="utf-8",
    )
    page = graph_html(tmp_path / "pipelines" / "p.sf", tmp_path, monkeypatch)
    (_x, _y, w, _h, (_kind, target)) = boxes(page)[f"export_{long_name.removesuffix('.csv')}"]
    assert (
        "…" in target and target.startswith("target/report_very_") and target.endswith("long.csv")
    )
    assert len(target) * TARGET_SIZE * 0.62 <= w
    assert f"target/{long_name}" in page  # in the tooltip
    assert "a&lt;b&amp;c" in page and "a<b&c" not in page


# -- the layout itself ------------------------------------------------------------------------


def test_crossing_count_matches_brute_force() -> None:
    @given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=14, unique=True))
    def check(pairs: list[tuple[int, int]]) -> None:
        upper = [f"u{i}" for i in range(6)]
        lower = [f"l{i}" for i in range(6)]
        succ = {u: [f"l{j}" for i, j in pairs if f"u{i}" == u] for u in upper}
        brute = sum(
            1 for (a, b), (c, d) in itertools.combinations(pairs, 2) if (a - c) * (b - d) < 0
        )
        assert count_crossings(upper, lower, succ) == brute

    check()


dags = st.integers(2, 14).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1]),
            max_size=3 * n,
            unique=True,
        ),
        st.lists(st.integers(20, 300), min_size=n, max_size=n),
    )
)


@given(dags)
def test_layout_invariants(dag: tuple[int, list[tuple[int, int]], list[int]]) -> None:
    n, pairs, sizes = dag
    nodes = [f"n{i}" for i in range(n)]
    widths = {f"n{i}": float(sizes[i]) for i in range(n)}
    edges = [(f"n{a}", f"n{b}") for a, b in pairs]
    layout = layered_layout(nodes, widths, edges, height=40, gap_x=20, gap_y=50, pad=10)
    for node, box in layout.boxes.items():
        assert box.w == widths[node] and box.h == 40
        assert box.x >= 10 - 1e-6 and box.x + box.w <= layout.width - 10 + 1e-6
    for a, b in itertools.combinations(layout.boxes.values(), 2):
        if a.y == b.y:
            assert a.x + a.w + 20 <= b.x + 1e-6 or b.x + b.w + 20 <= a.x + 1e-6
    for route in layout.routes:
        src, dst = layout.boxes[route.source], layout.boxes[route.target]
        assert src.y < dst.y  # every edge points down
        (x0, y0), (x1, y1) = route.points[0], route.points[-1]
        assert y0 == src.y + src.h and src.x <= x0 <= src.x + src.w
        assert y1 == dst.y and dst.x <= x1 <= dst.x + dst.w
        assert len(route.points) == 2 + 2 * round((dst.y - src.y) / 90 - 1)
    assert {(r.source, r.target) for r in layout.routes} == set(edges)


def test_crossings_are_removed_where_possible() -> None:
    # Plan order puts b's target first: a→d, b→c drawn in that order would cross.
    layout = layered_layout(
        ["a", "b", "c", "d"], dict.fromkeys("abcd", 50.0), [("a", "d"), ("b", "c")]
    )
    assert layout.crossings == 0
    # A source only a late step reads sits just above it, not at the top.
    late = layered_layout(
        ["a", "b", "c", "s", "d"],
        dict.fromkeys("abcsd", 50.0),
        [("a", "b"), ("b", "c"), ("c", "d"), ("s", "d")],
    )
    assert late.boxes["s"].y == late.boxes["c"].y


# -- in a real browser ------------------------------------------------------------------------

_MEASURE = """<script>
const out = [];
for (const g of document.querySelectorAll('g.node')) {
  const r = g.querySelector('rect').getBBox();
  for (const t of g.querySelectorAll('text')) {
    const b = t.getBBox();
    out.push({step: g.dataset.step, text: t.textContent, width: b.width, box: r.width,
      inside: b.x >= r.x && b.x + b.width <= r.x + r.width &&
              b.y >= r.y && b.y + b.height <= r.y + r.height});
  }
}
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
@pytest.mark.parametrize(
    "pipeline",
    [p for p in EXAMPLES if p.stem in ("udf_demo", "quickstart", "basic_modes")],
    ids=lambda p: p.stem,
)
def test_rendered_in_chromium_every_label_fits_its_box(
    pipeline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CHROMIUM is not None
    page = graph_html(pipeline, tmp_path, monkeypatch)
    measured = tmp_path / "measure.html"
    measured.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, *_FLAGS, "--dump-dom", measured.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.DOTALL)
    assert found is not None, dom[-500:]
    texts = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<"))
    assert len(texts) == 2 * len(boxes(page))
    outside = [t for t in texts if not t["inside"]]
    assert outside == []
    shot = tmp_path / "graph.png"
    subprocess.run(
        [
            CHROMIUM,
            *_FLAGS,
            f"--screenshot={shot}",
            "--window-size=1400,900",
            (tmp_path / f"{pipeline.stem}.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000  # a picture, not a blank page
