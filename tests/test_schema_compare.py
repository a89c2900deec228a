"""sqlflowc.schema.compare: every kind of change between two schemas, and the verdict."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sqlflowc.schema import (
    Added,
    Column,
    Direction,
    Moved,
    NullabilityChanged,
    PossibleRename,
    Removed,
    TypeChanged,
    Verdict,
    compare_columns,
    describe,
)


def cols(*specs: str) -> list[Column]:
    """`"name TYPE"` or `"name TYPE NOT NULL"` → columns."""
    out = []
    for spec in specs:
        name, _, rest = spec.partition(" ")
        not_null = rest.endswith(" NOT NULL")
        out.append(Column(name, rest.removesuffix(" NOT NULL"), nullable=not not_null))
    return out


def test_identical_ignores_type_spelling_and_name_case() -> None:
    result = compare_columns(cols("id INTEGER", "n TEXT"), cols("ID int", "n VARCHAR"))
    assert result.changes == () and result.verdict is Verdict.IDENTICAL


def test_added_column_is_compatible() -> None:
    result = compare_columns(cols("id INTEGER"), cols("id INTEGER", "email VARCHAR"))
    assert result.changes == (Added(Column("email", "VARCHAR"), 1),)
    assert result.verdict is Verdict.COMPATIBLE
    assert describe(result.changes[0]) == "`email` added (VARCHAR)"


def test_removed_column_is_breaking() -> None:
    result = compare_columns(cols("id INTEGER", "email VARCHAR", "n INTEGER"), cols("id INTEGER"))
    assert result.changes == (
        Removed(Column("email", "VARCHAR"), 1),
        Removed(Column("n", "INTEGER"), 2),
    )
    assert result.verdict is Verdict.BREAKING


def test_widening_is_compatible_narrowing_and_unrelated_are_breaking() -> None:
    widened = compare_columns(cols("a INTEGER", "b FLOAT"), cols("a BIGINT", "b DOUBLE"))
    assert [c.direction for c in widened.changes if isinstance(c, TypeChanged)] == [
        Direction.WIDENING,
        Direction.WIDENING,
    ]
    assert widened.verdict is Verdict.COMPATIBLE
    narrowed = compare_columns(cols("a BIGINT"), cols("a INTEGER"))
    [change] = narrowed.changes
    assert isinstance(change, TypeChanged) and change.direction is Direction.NARROWING
    assert change.common == "BIGINT"
    assert narrowed.verdict is Verdict.BREAKING
    unrelated = compare_columns(cols("a INTEGER"), cols("a VARCHAR"))
    [change] = unrelated.changes
    assert isinstance(change, TypeChanged) and change.direction is Direction.UNRELATED
    assert change.common is None and unrelated.verdict is Verdict.BREAKING
    assert describe(change) == "`a` type INTEGER → VARCHAR (unrelated)"


def test_nullability_tightening_breaks_relaxing_does_not() -> None:
    relaxed = compare_columns(cols("id INTEGER NOT NULL"), cols("id INTEGER"))
    assert isinstance(relaxed.changes[0], NullabilityChanged)
    assert relaxed.verdict is Verdict.COMPATIBLE
    tightened = compare_columns(cols("id INTEGER"), cols("id INTEGER NOT NULL"))
    assert tightened.verdict is Verdict.BREAKING
    assert describe(tightened.changes[0]) == "`id` nullable → NOT NULL"


def test_possible_rename_same_type_same_position() -> None:
    result = compare_columns(
        cols("id INTEGER", "email VARCHAR", "n INTEGER"),
        cols("id INTEGER", "mail VARCHAR", "n INTEGER"),
    )
    assert result.changes == (
        PossibleRename(Column("email", "VARCHAR"), Column("mail", "VARCHAR"), 1),
    )
    assert result.verdict is Verdict.BREAKING
    # a different type at that position is a removal and an addition
    other = compare_columns(cols("id INTEGER", "email VARCHAR"), cols("id INTEGER", "m DATE"))
    assert [type(c) for c in other.changes] == [Added, Removed]


def test_moves_report_the_fewest_columns() -> None:
    # an insertion at the front moves nothing
    inserted = compare_columns(
        cols("a INTEGER", "b INTEGER"), cols("x INTEGER", "a INTEGER", "b INTEGER")
    )
    assert [type(c) for c in inserted.changes] == [Added]
    # one column taken from the end to the front: only that one moved
    moved = compare_columns(
        cols("a INTEGER", "b INTEGER", "c INTEGER", "d INTEGER"),
        cols("d INTEGER", "a INTEGER", "b INTEGER", "c INTEGER"),
    )
    assert moved.changes == (Moved(Column("d", "INTEGER"), 3, 0),)
    assert moved.verdict is Verdict.COMPATIBLE
    assert describe(moved.changes[0]) == "`d` moved from position 4 to 1"


def test_json_form() -> None:
    data = compare_columns(cols("a INTEGER"), cols("a BIGINT", "b DATE")).to_dict()
    assert data["verdict"] == "compatible"
    assert data["changes"][0] == {
        "kind": "type_changed",
        "old": {"name": "a", "type": "INTEGER", "nullable": True},
        "new": {"name": "a", "type": "BIGINT", "nullable": True},
        "direction": "widening",
        "breaking": False,
        "summary": "`a` type INTEGER → BIGINT (widening)",
    }
    assert data["changes"][1]["kind"] == "added"


def test_a_thousand_columns() -> None:
    old = [Column(f"c{i}", "INTEGER") for i in range(1000)]
    new = [Column(f"c{i}", "BIGINT" if i % 100 == 0 else "INTEGER") for i in range(999, -1, -1)]
    result = compare_columns(old, new)
    assert sum(isinstance(c, TypeChanged) for c in result.changes) == 10
    assert sum(isinstance(c, Moved) for c in result.changes) == 999  # a reversal keeps one


NAMES = st.sampled_from(["a", "b", "c", "d", "e", "f"])
TYPES = st.sampled_from(["INTEGER", "BIGINT", "VARCHAR", "DATE", "TIMESTAMP", "DOUBLE"])
SCHEMAS = st.lists(
    st.builds(Column, NAMES, TYPES, st.booleans()), max_size=6, unique_by=lambda c: c.name
)


@given(SCHEMAS, SCHEMAS)
def test_every_column_is_accounted_for(old: list[Column], new: list[Column]) -> None:
    result = compare_columns(old, new)
    assert compare_columns(new, new).verdict is Verdict.IDENTICAL
    added = {c.column.name for c in result.changes if isinstance(c, Added)}
    added |= {c.new.name for c in result.changes if isinstance(c, PossibleRename)}
    removed = {c.column.name for c in result.changes if isinstance(c, Removed)}
    removed |= {c.old.name for c in result.changes if isinstance(c, PossibleRename)}
    assert added == {c.name for c in new} - {c.name for c in old}
    assert removed == {c.name for c in old} - {c.name for c in new}
    assert (result.verdict is Verdict.IDENTICAL) == (result.changes == ())
