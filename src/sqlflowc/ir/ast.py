"""Surface IR: what the parser saw, with spans. May still hold VarRef, If and Include.

Nodes are frozen; `span` is excluded from equality so `parse(fmt(p)) == p` compares structure.
Raw token text is kept where `fmt` must reproduce the user's spelling (quotes, number format).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlflowc.source import Span

_NO_SPAN = Span(-1, 0, 0)


# ------------------------------------------------------------------ names and templates


@dataclass(frozen=True, slots=True, kw_only=True)
class Ident:
    """An identifier; `quoted` when written as "quoted identifier"."""

    value: str
    quoted: bool = False
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)

    @property
    def sql(self) -> str:
        return '"' + self.value.replace('"', '""') + '"' if self.quoted else self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class TableName:
    """`table` or `schema.table`."""

    parts: tuple[Ident, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)

    @property
    def sql(self) -> str:
        return ".".join(p.sql for p in self.parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class VarRef:
    """`${name}` or `${name|default}`; `default` is None when there is none (`${x|}` is "")."""

    name: str
    default: str | None = None
    raw: str = ""
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """Text that may contain `${...}` references (SQL bodies, URIs, JSON strings).

    `refs[i]` is found at `offsets[i]` characters into `text`. `ends_in_line_comment` (SQL
    bodies) says the text ends inside a `--` comment, as the grammar reads SQL: a `;` right
    after it would be part of the comment.
    """

    text: str
    refs: tuple[VarRef, ...] = ()
    offsets: tuple[int, ...] = ()
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)
    ends_in_line_comment: bool = field(default=False, compare=False)


# ------------------------------------------------------------------ literals and JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """A string, number, boolean or null as written; `value` is the Python value."""

    value: str | int | float | bool | None
    raw: str
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonString:
    template: Template
    raw: str
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonArray:
    items: tuple[JsonValue, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonPair:
    key: str
    raw_key: str
    value: JsonValue
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonObject:
    pairs: tuple[JsonPair, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


JsonValue = JsonObject | JsonArray | JsonString | Literal | VarRef


# ------------------------------------------------------------------ conditions


class CompareOp(enum.Enum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True, slots=True, kw_only=True)
class BareName:
    """A bare word in a condition: the name of a variable."""

    name: str
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    op: CompareOp
    left: Operand
    right: Operand
    raw_op: str = ""
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class InList:
    operand: Operand
    options: tuple[Operand, ...]
    negated: bool = False
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    operand: Condition
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class And:
    """`a AND b AND ...`: a flat chain is one node (two or more operands, none an `And`), so
    a long chain is no deep tree."""

    operands: tuple[Condition, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Or:
    """`a OR b OR ...`, like `And`."""

    operands: tuple[Condition, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Paren:
    """A parenthesised condition, kept so `fmt` reproduces the grouping."""

    inner: Condition
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


Operand = Literal | VarRef | BareName | Paren
Condition = Operand | Compare | InList | Not | And | Or


# ------------------------------------------------------------------ load modes


@dataclass(frozen=True, slots=True, kw_only=True)
class Replace:
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Append:
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


class MergeSpelling(enum.Enum):
    """How the user wrote a merge, kept only so `fmt` leaves the dialect alone."""

    MERGE_KEY = "MERGE KEY"
    UPSERT_KEY = "UPSERT KEY"
    MERGE_MERGE_KEYS = "MERGE MERGE_KEYS"


@dataclass(frozen=True, slots=True, kw_only=True)
class Merge:
    keys: tuple[Ident, ...]
    spelling: MergeSpelling = MergeSpelling.MERGE_KEY
    parenthesized: bool = True
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Incremental:
    by: Ident
    lookback: Literal | None = None
    keys: tuple[Ident, ...] = ()
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


LoadMode = Replace | Append | Merge | Incremental


# ------------------------------------------------------------------ statements


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDecl:
    """`SOURCE name TYPE connector PARAMS {...}`."""

    name: Ident
    connector: Ident
    params: JsonObject
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFromProfile:
    """`SOURCE name FROM "connection" [OPTIONS {...}]`."""

    name: Ident
    connection: Literal
    options: JsonObject | None = None
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    table: TableName
    source: Ident
    mode: LoadMode | None = None
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTable:
    table: TableName
    query: Template
    mode: LoadMode | None = None
    or_replace: bool = False
    if_not_exists: bool = False
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateView:
    view: TableName
    query: Template
    or_replace: bool = False
    if_not_exists: bool = False
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Export:
    """`EXPORT query|table TO "uri" TYPE fmt [OPTIONS {...}]`; exactly one of query/table is set."""

    query: Template | None
    table: TableName | None
    uri: Literal
    uri_template: Template
    format: Ident
    options: JsonObject | None = None
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Set:
    name: Ident
    value: Literal | VarRef
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Include:
    path: Literal
    alias: Ident | None = None
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    condition: Condition
    body: tuple[Statement, ...]
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class If:
    """`IF c THEN ... {ELSE IF c THEN ...} [ELSE ...] END IF`; `branches[0]` is the IF itself."""

    branches: tuple[Branch, ...]
    else_body: tuple[Statement, ...] | None = None
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlStatement:
    """Any other SQL statement, run as written (`verb` is its first word, upper-cased)."""

    verb: str
    sql: Template
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


Statement = (
    SourceDecl
    | SourceFromProfile
    | Load
    | CreateTable
    | CreateView
    | Export
    | Set
    | Include
    | If
    | SqlStatement
)


# The keywords that start a SQLFlow statement (the first word of each `_statement` rule of the
# grammar but `sql_stmt`, whose first word is a SQL verb; tests/test_parser.py holds them to it),
# and those that end an IF branch.
STATEMENT_KEYWORDS = ("SOURCE", "LOAD", "CREATE", "EXPORT", "SET", "INCLUDE", "IF")
BRANCH_END_KEYWORDS = ("ELSE", "ELSEIF", "END", "ENDIF")


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """A comment outside SQL bodies, kept for `fmt`."""

    text: str
    span: Span = field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    """A pipeline: one parsed file, then what the surface passes make of it. Each pass returns
    what it found with the statements; the first two fields below hold for the statements as
    they are (so, for a file as parsed, both are empty):

    - `labels`: the INCLUDE alias of each file (by file id) whose statements an INCLUDE brought
      in (`expand_includes`);
    - `decided`: the variables, with their values, whose values decided which branch of an IF
      the statements are (`fold_conditionals`; secrets left out).

    `used_variables` is every variable name the statements use in any IF branch, or the profile
    uses: `record_used_variables` finds them after `expand_includes` and before
    `fold_conditionals` drops the inactive branches, and later passes keep them (it is empty
    before that pass, as every surface pass shares this one type).
    """

    statements: tuple[Statement, ...]
    file_id: int = field(default=-1, compare=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    labels: Mapping[int, str] = field(default_factory=dict)
    decided: Mapping[str, Any] = field(default_factory=dict)
    used_variables: frozenset[str] = frozenset()
