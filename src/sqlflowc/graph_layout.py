"""A layered (Sugiyama-style) layout of a directed acyclic graph, for `sqlflowc graph --format
html`. Pure geometry: nodes are ids with widths, edges pairs of ids; nothing here knows plans.

`layered_layout(nodes, widths, edges)` returns a `Layout` (a `Box` per node, a `Route` per edge):

1. Layers: a node sits one layer below its lowest predecessor (longest path from the sources);
   a node without predecessors is then pulled down to just above its highest successor, so a
   source read late does not hang on a long edge from the top.
2. An edge spanning several layers gets a dummy node in each layer it crosses, so it is routed
   between the boxes and counted by the crossing reduction.
3. Order within layers: start from the order of the given nodes, then barycenter sweeps (down:
   by the mean position of the predecessors; up: of the successors) and adjacent exchanges,
   keeping the order with the fewest edge crossings (counted exactly, per pair of layers).
4. Coordinates: each box wants its center at the mean of its neighbours' centers; within a
   layer the boxes keep their order and at least `gap_x` apart. Each layer is placed by the
   least-squares solution of that (isotonic regression), alternately against the layer above
   and below; a dummy node wants both sides, which straightens long edges.
5. Routes: an edge leaves its source at the bottom and enters its target at the top, at ports
   spread over the box's width in the order of the other ends; it passes each dummy node as a
   vertical line through that layer.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Box", "Layout", "Route", "count_crossings", "layered_layout"]

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Box:
    """A node's rectangle: `x`, `y` its top-left corner."""

    id: str
    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> float:
        return self.x + self.w / 2


@dataclass(frozen=True, slots=True)
class Route:
    """An edge's path, from the source's bottom to the target's top: first and last points are
    the ports; between consecutive layers the renderer draws a curve, inside a layer (a dummy
    node's top and bottom) a straight vertical line."""

    source: str
    target: str
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class Layout:
    boxes: Mapping[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float
    crossings: int  # edge crossings between adjacent layers, dummies included


@dataclass(slots=True)
class _Node:
    id: str
    width: float
    layer: int
    dummy: bool = False


def layered_layout(
    nodes: Sequence[str],
    widths: Mapping[str, float],
    edges: Sequence[tuple[str, str]],
    *,
    height: float = 48,
    gap_x: float = 28,
    gap_y: float = 56,
    pad: float = 16,
    sweeps: int = 12,
) -> Layout:
    """Lay out a DAG given in topological order (see the module docstring)."""
    layer = _layers(nodes, edges)
    graph: dict[str, _Node] = {n: _Node(n, widths[n], layer[n]) for n in nodes}
    chains: dict[tuple[str, str], list[str]] = {}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    pred: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v in dict.fromkeys(edges):
        path = [u]
        for k in range(layer[u] + 1, layer[v]):
            dummy = f"\0{u}\0{v}\0{k}"
            graph[dummy] = _Node(dummy, 2.0, k, dummy=True)
            succ[dummy], pred[dummy] = [], []
            path.append(dummy)
        path.append(v)
        for a, b in itertools.pairwise(path):
            succ[a].append(b)
            pred[b].append(a)
        chains[(u, v)] = path
    depth = max((n.layer for n in graph.values()), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for node_id in _initial_order(nodes, graph, succ):
        rows[graph[node_id].layer].append(node_id)
    rows, crossings = _reduce_crossings(rows, pred, succ, sweeps)
    xs = _coordinates(rows, graph, pred, succ, gap_x)
    left = min((xs[n] - graph[n].width / 2 for n in graph), default=0.0)
    right = max((xs[n] + graph[n].width / 2 for n in graph), default=0.0)
    shift = pad - left
    boxes = {
        n: Box(
            n,
            xs[n] - graph[n].width / 2 + shift,
            pad + graph[n].layer * (height + gap_y),
            graph[n].width,
            height,
        )
        for n in graph
    }
    routes = tuple(
        _route(chains[(u, v)], boxes, rows, graph, pred, succ) for u, v in dict.fromkeys(edges)
    )
    real = {n: boxes[n] for n in nodes}
    width = right - left + 2 * pad
    total = pad * 2 + depth * height + max(depth - 1, 0) * gap_y
    return Layout(real, routes, width, total, crossings)


def _layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v in edges:
        preds[v].append(u)
        succs[u].append(v)
    layer: dict[str, int] = {}
    for n in nodes:  # topological order
        layer[n] = 1 + max((layer[p] for p in preds[n]), default=-1)
    for n in reversed(nodes):
        if not preds[n] and succs[n]:
            layer[n] = min(layer[s] for s in succs[n]) - 1
    return layer


def _initial_order(
    nodes: Sequence[str], graph: Mapping[str, _Node], succ: Mapping[str, list[str]]
) -> list[str]:
    """Depth-first from the nodes in their given order: a chain stays together."""
    seen: set[str] = set()
    out: list[str] = []
    for start in nodes:
        stack = [start]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            out.append(n)
            stack.extend(reversed(succ[n]))
    return out


def count_crossings(
    upper: Sequence[str], lower: Sequence[str], succ: Mapping[str, Sequence[str]]
) -> int:
    """Crossings of the edges between two adjacent layers (inversions, O(E log E))."""
    at = {n: i for i, n in enumerate(lower)}
    ends: list[int] = []
    for u in upper:
        ends.extend(sorted(at[s] for s in succ[u] if s in at))
    crossings = 0
    seen: list[int] = []
    for e in ends:
        crossings += len(seen) - bisect.bisect_right(seen, e)
        bisect.insort(seen, e)
    return crossings


def _total(rows: Sequence[Sequence[str]], succ: Mapping[str, Sequence[str]]) -> int:
    return sum(count_crossings(rows[i], rows[i + 1], succ) for i in range(len(rows) - 1))


def _reduce_crossings(
    rows: list[list[str]],
    pred: Mapping[str, list[str]],
    succ: Mapping[str, list[str]],
    sweeps: int,
) -> tuple[list[list[str]], int]:
    """The order with the fewest crossings found from the given order and its mirror image,
    each improved by `sweeps` sweeps that alternate barycenters and medians."""
    best: list[list[str]] = rows
    best_count = _total(rows, succ)
    for start in (rows, [list(reversed(r)) for r in rows]):
        current = [list(r) for r in start]
        for sweep in range(sweeps):
            if best_count == 0:
                return best, 0
            down = sweep % 2 == 0
            median = sweep % 4 >= 2
            order = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
            for i in order:
                fixed = current[i - 1] if down else current[i + 1]
                current[i] = _sorted_by_neighbours(
                    current[i], fixed, pred if down else succ, median=median
                )
            _exchange(current, pred, succ)
            count = _total(current, succ)
            if count < best_count:
                best, best_count = [list(r) for r in current], count
    return best, best_count


def _sorted_by_neighbours(
    row: list[str], fixed: list[str], neighbours: Mapping[str, list[str]], *, median: bool
) -> list[str]:
    """`row` ordered by the barycenter (or median) of each node's neighbours' positions in
    `fixed`; a node without neighbours there keeps its place."""
    pos = {n: k for k, n in enumerate(fixed)}
    keys: list[float] = []
    for k, n in enumerate(row):
        linked = sorted(pos[m] for m in neighbours[n] if m in pos)
        if not linked:
            keys.append(float(k))
        elif median:
            mid = len(linked) // 2
            keys.append(linked[mid] if len(linked) % 2 else (linked[mid - 1] + linked[mid]) / 2)
        else:
            keys.append(sum(linked) / len(linked))
    return [n for _, n in sorted(zip(keys, row, strict=True), key=lambda pair: pair[0])]


def _exchange(
    rows: list[list[str]], pred: Mapping[str, list[str]], succ: Mapping[str, list[str]]
) -> None:
    """Swap neighbours in a layer while that lowers the crossings (the transposition
    heuristic): only the edges of the two nodes change, so each test is linear in their
    degrees."""
    for _ in range(4):
        improved = False
        for i, row in enumerate(rows):
            above = {n: k for k, n in enumerate(rows[i - 1])} if i > 0 else {}
            below = {n: k for k, n in enumerate(rows[i + 1])} if i + 1 < len(rows) else {}
            ends = {
                n: (
                    sorted(above[m] for m in pred[n] if m in above),
                    sorted(below[m] for m in succ[n] if m in below),
                )
                for n in row
            }
            for k in range(len(row) - 1):
                u, v = row[k], row[k + 1]
                kept = _pair(ends[u][0], ends[v][0]) + _pair(ends[u][1], ends[v][1])
                swapped = _pair(ends[v][0], ends[u][0]) + _pair(ends[v][1], ends[u][1])
                if swapped < kept:
                    row[k], row[k + 1] = v, u
                    improved = True
        if not improved:
            return


def _pair(left: Sequence[int], right: Sequence[int]) -> int:
    """Crossings between the edges of a node and those of the node to its right: pairs of
    sorted end positions where the left one's end lies beyond the right one's."""
    count = j = 0
    for x in left:
        while j < len(right) and right[j] < x:
            j += 1
        count += j
    return count


def _coordinates(
    rows: Sequence[Sequence[str]],
    graph: Mapping[str, _Node],
    pred: Mapping[str, list[str]],
    succ: Mapping[str, list[str]],
    gap: float,
) -> dict[str, float]:
    """Box centers: packed first, then pulled toward their neighbours (module docstring, 4)."""
    xs: dict[str, float] = {}
    for row in rows:
        x = 0.0
        for n in row:
            xs[n] = x + graph[n].width / 2
            x += graph[n].width + gap
    widest = max((xs[r[-1]] + graph[r[-1]].width / 2 for r in rows if r), default=0.0)
    for row in rows:  # center each packed row under the widest
        if row:
            used = xs[row[-1]] + graph[row[-1]].width / 2
            for n in row:
                xs[n] += (widest - used) / 2
    for sweep in range(8):
        down = sweep % 2 == 0
        for row in rows if down else list(reversed(rows)):
            wanted = []
            for n in row:
                sides = [pred[n], succ[n]] if graph[n].dummy else [pred[n] if down else succ[n]]
                linked = [xs[m] for side in sides for m in side]
                wanted.append(sum(linked) / len(linked) if linked else xs[n])
            seps = [(graph[a].width + graph[b].width) / 2 + gap for a, b in itertools.pairwise(row)]
            for n, x in zip(row, _isotonic_place(wanted, seps), strict=True):
                xs[n] = x
    return xs


def _isotonic_place(wanted: Sequence[float], seps: Sequence[float]) -> list[float]:
    """The positions closest (least squares) to `wanted` with x[i+1] - x[i] >= seps[i]: with
    offsets c[i] = seps[0] + ... + seps[i-1], y = x - c must be non-decreasing, which is an
    isotonic regression of wanted - c (pool adjacent violators)."""
    offsets = [0.0]
    for s in seps:
        offsets.append(offsets[-1] + s)
    blocks: list[list[float]] = []  # [sum, count]
    for value in (w - c for w, c in zip(wanted, offsets, strict=True)):
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    ys: list[float] = []
    for total, count in blocks:
        ys.extend([total / count] * int(count))
    return [y + c for y, c in zip(ys, offsets, strict=True)]


def _route(
    chain: Sequence[str],
    boxes: Mapping[str, Box],
    rows: Sequence[Sequence[str]],
    graph: Mapping[str, _Node],
    pred: Mapping[str, list[str]],
    succ: Mapping[str, list[str]],
) -> Route:
    first, second, last, before = chain[0], chain[1], chain[-1], chain[-2]
    src, dst = boxes[first], boxes[last]
    points: list[Point] = [(_port(src, second, succ[first], boxes), src.y + src.h)]
    for dummy in chain[1:-1]:
        box = boxes[dummy]
        points += [(box.center, box.y), (box.center, box.y + box.h)]
    points.append((_port(dst, before, pred[last], boxes), dst.y))
    return Route(first, last, tuple(points))


def _port(box: Box, other: str, others: Sequence[str], boxes: Mapping[str, Box]) -> float:
    """Where on `box`'s edge the edge to `other` attaches: ports spread over the middle of the
    box in the order of the other ends, so edges leave side by side instead of from one point."""
    ordered = sorted(others, key=lambda n: boxes[n].center)
    k = ordered.index(other)
    span = min(box.w * 0.6, 16.0 * (len(ordered) - 1))
    if len(ordered) == 1:
        return box.center
    return box.center - span / 2 + span * k / (len(ordered) - 1)
