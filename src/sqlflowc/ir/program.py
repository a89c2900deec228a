"""Resolved IR: no variables, no IF, no INCLUDE; SQL bodies are text after substitution.

Four stages, each its own type, so that nothing a later pass computes is a placeholder on an
earlier one:

- `Program` (made by `lower_program`): the statements, as text.
- `BoundProgram` (made by `bind`): also a `Binding` per statement, its sqlglot tree (or
  `OPAQUE` when sqlglot cannot parse a body DuckDB accepts) and the tables it reads and writes.
- `ResolvedProgram` (made by `resolve_udfs`): Python UDF calls rewritten to the UDFs' registered
  names, table UDF calls lifted into statements of their own, and `udfs`, the registered names
  each statement calls.
- `OrderedProgram` (made by `build_dag`): also `deps`, what each statement runs after. The
  backend lowers this one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, assert_never

from sqlflowc.ir.ast import Append, Incremental, LoadMode, Merge, Replace
from sqlflowc.names import table_key
from sqlflowc.source import Span

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "OPAQUE",
    "Append",
    "Binding",
    "BoundProgram",
    "CreateTable",
    "CreateView",
    "Export",
    "Incremental",
    "Load",
    "LoadMode",
    "Merge",
    "Opaque",
    "OrderedProgram",
    "Program",
    "Replace",
    "ResolvedProgram",
    "Source",
    "Splice",
    "Sql",
    "SqlStatement",
    "Statement",
    "TableUdf",
    "sql_body",
]

JsonData = Any  # a JSON value after variable resolution (dict/list/str/int/float/bool/None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Splice:
    """A value spliced into `Sql.text[start:end]` from the `${name}` reference at `ref`;
    `secret` when the value is a secret (never shown)."""

    start: int
    end: int
    ref: Span
    name: str
    secret: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sql:
    """A SQL body after variable substitution.

    `text` is what runs. `display` is the same text with every secret value replaced by its
    `${name}` reference — plans and logs show `display`; the executor substitutes secrets back.
    `origin` maps `text` back to the `.sf` file: `(text_offset, file_offset)` pairs, each
    starting a stretch where both advance together (a spliced value maps to its reference).
    `splices` lists each spliced value: where it is in `text` and the reference it came from.
    """

    text: str
    display: str
    span: Span
    origin: tuple[tuple[int, int], ...] = ()
    splices: tuple[Splice, ...] = field(default=(), compare=False)

    def file_offset(self, text_offset: int) -> int:
        """The `.sf` file offset of a character of `text` (for diagnostics inside SQL)."""
        best = (0, self.span.start)
        for t_off, f_off in self.origin:
            if t_off <= text_offset:
                best = (t_off, f_off)
            else:
                break
        return best[1] + (text_offset - best[0])

    def span_of(self, start: int, end: int) -> Span:
        """The `.sf` span of `text[start:end]`; text inside a spliced value maps to the whole
        `${...}` reference it came from."""
        a = self.file_offset(start)
        b = self.file_offset(max(start, end - 1)) + 1
        for splice in self.splices:
            if splice.start <= start < splice.end:
                a = splice.ref.start
            if splice.start <= max(start, end - 1) < splice.end:
                b = splice.ref.end
        return Span(self.span.file_id, a, max(a + 1, b))


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """`SOURCE name ...` with its connector and resolved parameters.

    For `SOURCE name FROM "connection"` the type and params come from the profile, with OPTIONS
    merged on top. `param_spans` points each parameter at its value in the file and
    `param_key_spans` at its key (for a parameter from the profile, both are the connection name).
    """

    name: str
    connector: str
    params: Mapping[str, JsonData]
    span: Span
    param_spans: Mapping[str, Span] = field(default_factory=dict, compare=False)
    param_key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False)
    connection: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    """`LOAD table FROM source`; `target_span` is where the table is named."""

    table: str
    source: Source
    mode: LoadMode
    span: Span
    target_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTable:
    """`CREATE TABLE ... AS`; `if_not_exists` leaves an existing table alone (REPLACE only);
    `target_span` is where the table is named."""

    table: str
    query: Sql
    mode: LoadMode
    span: Span
    target_span: Span | None = field(default=None, compare=False)
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateView:
    """`CREATE VIEW ... AS`; `target_span` is where the view is named."""

    view: str
    query: Sql
    span: Span
    target_span: Span | None = field(default=None, compare=False)
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Export:
    """`EXPORT`: `query` is `SELECT * FROM t` for the table form. `option_spans` points each
    option at its value in the file, `option_key_spans` at its key."""

    query: Sql
    uri: str
    uri_display: str
    format: str
    options: Mapping[str, JsonData]
    span: Span
    option_spans: Mapping[str, Span] = field(default_factory=dict, compare=False)
    option_key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlStatement:
    """Any other SQL."""

    verb: str
    sql: Sql
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class TableUdf:
    """A table UDF applied to a table (made by `resolve_udfs` from a call in FROM): `target`
    becomes the function's output for `input`. `udf` is the UDF's qualified name, `args` its
    literal arguments by parameter name. A `temporary` target (the output of a call inside a
    larger query) is a temporary table of the run, never written to the database file."""

    udf: str
    input: str
    args: Mapping[str, JsonData]
    target: str
    span: Span
    temporary: bool = False


Statement = Load | CreateTable | CreateView | Export | SqlStatement | TableUdf


def sql_body(stmt: Statement) -> Sql | None:
    """A statement's SQL body: the query of CREATE TABLE/VIEW and EXPORT, the text of other
    SQL; None for a LOAD or a table UDF."""
    match stmt:
        case CreateTable() | CreateView() | Export():
            return stmt.query
        case SqlStatement():
            return stmt.sql
        case Load() | TableUdf():
            return None
        case _:
            assert_never(stmt)


@dataclass(frozen=True, slots=True, kw_only=True)
class Program:
    """A whole pipeline after the surface passes (`lower_program`).

    `labels` maps a file id to the INCLUDE alias its statements carry in plans and graphs.
    `used_variables` is every variable name the pipeline (any IF branch) or the profile uses,
    for the warning about an unused `--var`.
    `secrets` maps secret variable names to their values (never rendered); `secret_templates`
    how to build a secret a SET made from other secrets, from their `${name}` placeholders.
    """

    statements: tuple[Statement, ...]
    sources: Mapping[str, Source]
    project_dir: str
    variables: Mapping[str, JsonData] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    secret_templates: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[int, str] = field(default_factory=dict)
    used_variables: frozenset[str] = frozenset()


class Opaque:
    """The tree of a SQL body sqlglot cannot parse and DuckDB's parser accepts: it runs as
    written, as an ordering barrier (its tables are unknown)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OPAQUE"


OPAQUE: Final = Opaque()


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """What `bind` found in one statement.

    `tree` is the sqlglot tree of its SQL body, `OPAQUE` when sqlglot cannot parse it, None for
    a statement without one (LOAD, table UDF). `reads` and `writes` are table keys
    (`names.table_key`). `barrier` when its tables cannot be determined (see "Ordering" in
    docs/language.md): an opaque body, or DDL without a table.
    """

    tree: exp.Expr | Opaque | None = field(compare=False, repr=False)
    reads: frozenset[str]
    writes: frozenset[str]
    barrier: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundProgram(Program):
    """A program after `bind`: `bindings[i]` is what statement `i` reads and writes."""

    bindings: tuple[Binding, ...]

    def __post_init__(self) -> None:
        if len(self.bindings) != len(self.statements):
            raise ValueError("a BoundProgram has one binding per statement")

    def bound(self) -> Iterator[tuple[Statement, Binding]]:
        """Each statement with its binding."""
        return zip(self.statements, self.bindings, strict=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedProgram(BoundProgram):
    """A bound program after `resolve_udfs`: `udfs[i]` lists, sorted, the registered names of
    the Python UDFs statement `i` calls (the runtime registers them before the statement runs)."""

    udfs: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        BoundProgram.__post_init__(self)
        if len(self.udfs) != len(self.statements):
            raise ValueError("a ResolvedProgram has one tuple of UDF names per statement")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderedProgram(ResolvedProgram):
    """A resolved program after `build_dag`: `deps[i]` lists, ascending, the indexes of the
    statements statement `i` must run after."""

    deps: tuple[tuple[int, ...], ...]


def udf_table_name(udf_name: str, source: str, n: int = 1) -> str:
    """The name of the table a table UDF call inside a larger query writes: `udf_<fn>_<input>`
    in lower case, other characters as `_`, and `_<n>` after the first."""
    base = re.sub(r"[^a-z0-9]+", "_", f"udf_{udf_name}_{source}".lower()).strip("_")
    return base if n == 1 else f"{base}_{n}"


def is_udf_table_name(name: str, udf_name: str, source: str) -> bool:
    """Whether `name` is one of the names `udf_table_name` gives for this call."""
    base = udf_table_name(udf_name, source)
    key = table_key(name)
    return key == base or re.fullmatch(re.escape(base) + r"_[0-9]+", key) is not None
