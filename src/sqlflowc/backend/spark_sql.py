"""SQL bodies for Spark: DuckDB SQL transpiled to Spark SQL with sqlglot, and the constructs that
cannot be (docs/engines.md).

`unsupported(text)` finds, with sqlglot's DuckDB tokenizer (strings and comments are never
matched), what Spark cannot run or what sqlglot would turn into different SQL without a word —
measured here: DuckDB's file-reading table functions (`read_csv(...)`), a file named in FROM
(`FROM 'x.parquet'`), 128-bit and unsigned integer types, `ON CONFLICT`, `UNION BY NAME`, MAP
literals (`MAP {...}`), `ASOF` and `POSITIONAL` joins (Spark reads `a ASOF JOIN b` as an inner
join with `ASOF` as an alias), and column DEFAULTs (Spark's Parquet tables keep none). Each
is an `Unsupported` with its place in the text and the reason; the backend reports them at
their place in the `.sf` file (SF1001).

`to_spark(sql, udfs)` parses DuckDB SQL and writes it for Spark, with each Python UDF's
registered name (`"python_udfs.text.clean/1"`) replaced by the name it is registered under in a
Spark session (`spark_udf_name`): Spark function names cannot hold dots or slashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import TokenType, exp, tokenize
from sqlglot.errors import SqlglotError

__all__ = [
    "TranspileError",
    "Unsupported",
    "runs_on_spark",
    "spark_udf_name",
    "to_spark",
    "unsupported",
]

# DuckDB table functions that read files by name; on Spark a SOURCE reads them.
_FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_json_objects",
        "read_text",
        "read_blob",
        "read_xlsx",
        "sniff_csv",
        "glob",
    }
)
_TYPES = {
    "HUGEINT": "128-bit integers",
    "UHUGEINT": "unsigned integers",
    "UBIGINT": "unsigned integers",
    "UINTEGER": "unsigned integers",
    "USMALLINT": "unsigned integers",
    "UTINYINT": "unsigned integers",
    "INT128": "128-bit integers",
    "UINT128": "unsigned integers",
}
_SET_OPERATIONS = frozenset({TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT})
_UDF_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A construct Spark cannot run: `text[start:end]` (end exclusive), and why."""

    start: int
    end: int
    construct: str
    reason: str
    help: str


class TranspileError(Exception):
    """sqlglot cannot read the SQL as DuckDB SQL (the message says where)."""


def spark_udf_name(name: str) -> str:
    """The name a Python UDF is registered under in a Spark session: `sqlflow_` and its
    registered name in lower case, every other character `_` (`python_udfs.text.clean/1` →
    `sqlflow_python_udfs_text_clean_1`)."""
    return "sqlflow_" + _UDF_CHARS.sub("_", name.lower()).strip("_")


def to_spark(sql: str, udfs: Iterable[str] = ()) -> str:
    """`sql` (DuckDB) as Spark SQL; each call of a UDF in `udfs` renamed (`spark_udf_name`)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError as err:
        raise TranspileError(str(err).splitlines()[0]) from None
    names = {name.lower(): spark_udf_name(name) for name in udfs}
    if names:
        for call in list(tree.find_all(exp.Anonymous)):
            head = call.this
            key = (head.this if isinstance(head, exp.Identifier) else str(head)).lower()
            if key in names:
                call.set("this", names[key])
    _rank_as_bigint(tree)
    try:
        return tree.sql(dialect="spark")
    except SqlglotError as err:
        raise TranspileError(str(err).splitlines()[0]) from None


# Window functions DuckDB types BIGINT and Spark INT.
_RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)


def _rank_as_bigint(tree: exp.Expr) -> None:
    """`row_number() OVER (...)` (and rank, dense_rank, ntile) cast to BIGINT, DuckDB's type."""
    for window in list(tree.find_all(exp.Window)):
        if isinstance(window.this, _RANKING):
            window.replace(exp.cast(window.copy(), exp.DataType.build("BIGINT")))


def runs_on_spark(sql: str) -> bool:
    """Whether a plain SQL statement is one the Spark executor carries out: `CREATE TABLE
    [IF NOT EXISTS] t (columns)` (an empty table; without DEFAULTs, which Spark's Parquet
    tables cannot keep) or `DROP TABLE|VIEW [IF EXISTS] t`."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return False
    if isinstance(tree, exp.Create):
        return (
            str(tree.args.get("kind", "")).upper() == "TABLE"
            and isinstance(tree.this, exp.Schema)
            and tree.expression is None
            and not tree.args.get("replace")
            and not any(tree.find_all(exp.DefaultColumnConstraint))
        )
    if isinstance(tree, exp.Drop):
        return str(tree.args.get("kind", "")).upper() in ("TABLE", "VIEW")
    return False


def unsupported(text: str) -> list[Unsupported]:
    """Every construct of `text` (DuckDB SQL) that Spark cannot run, in text order."""
    try:
        tokens = tokenize(text, read="duckdb")
    except SqlglotError:
        return []  # the SQL check reports text that does not tokenise
    found: list[Unsupported] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        word = tok.text.upper() if tok.token_type is not TokenType.STRING else ""
        end = tok.end + 1
        if (
            nxt is not None
            and nxt.token_type is TokenType.L_PAREN
            and tok.token_type is TokenType.VAR
            and tok.text.lower() in _FILE_FUNCTIONS
        ):
            found.append(
                Unsupported(
                    tok.start,
                    end,
                    f"{tok.text.lower()}(...)",
                    f"`{tok.text.lower()}` is a DuckDB table function that reads files; "
                    "Spark SQL has no such function",
                    "declare the file as a SOURCE and LOAD it, then query the table",
                )
            )
        elif (
            tok.token_type in (TokenType.FROM, TokenType.JOIN)
            and nxt is not None
            and nxt.token_type is TokenType.STRING
        ):
            found.append(
                Unsupported(
                    nxt.start,
                    nxt.end + 1,
                    f"{tok.text.upper()} '{nxt.text}'",
                    "a file named in FROM is read by DuckDB; Spark SQL reads it as a table name",
                    "declare the file as a SOURCE and LOAD it, then query the table",
                )
            )
        elif word in _TYPES and tok.token_type is not TokenType.VAR:
            found.append(
                Unsupported(
                    tok.start,
                    end,
                    word,
                    f"Spark has no type {word} (it has no {_TYPES[word]})",
                    "use BIGINT, or DECIMAL(38, 0) for values beyond BIGINT",
                )
            )
        elif tok.token_type is TokenType.DEFAULT:
            found.append(
                Unsupported(
                    tok.start,
                    end,
                    "DEFAULT",
                    "Spark's Parquet tables keep no column defaults: a load that leaves the "
                    "column out would write NULL where DuckDB writes the default",
                    "drop the DEFAULT and give the column a value in the loads "
                    "(`COALESCE(unit, 'C') AS unit`)",
                )
            )
        elif tok.token_type is TokenType.ON and nxt is not None and nxt.text.upper() == "CONFLICT":
            found.append(
                Unsupported(
                    tok.start,
                    nxt.end + 1,
                    "ON CONFLICT",
                    "Spark tables have no keys to conflict on (`ON CONFLICT` is DuckDB's)",
                    "write the table with CREATE TABLE ... MODE MERGE KEY (...) instead",
                )
            )
        elif tok.token_type in _SET_OPERATIONS and _by_name(tokens, i + 1) is not None:
            last = _by_name(tokens, i + 1)
            assert last is not None
            found.append(
                Unsupported(
                    tok.start,
                    last,
                    f"{tok.text.upper()} BY NAME",
                    f"Spark SQL has no `{tok.text.upper()} BY NAME` (its set operations match "
                    "columns by position)",
                    "list the columns in the same order on both sides",
                )
            )
        elif (
            tok.token_type is TokenType.MAP
            and nxt is not None
            and nxt.token_type is TokenType.L_BRACE
        ):
            found.append(
                Unsupported(
                    tok.start,
                    nxt.end + 1,
                    "MAP {...}",
                    "sqlglot writes a DuckDB MAP literal for Spark as a STRUCT, not a MAP",
                    "build the map with `map(key1, value1, key2, value2, ...)`",
                )
            )
        elif word in ("ASOF", "POSITIONAL") and _joins(nxt, after):
            found.append(
                Unsupported(
                    tok.start,
                    end,
                    f"{word} JOIN",
                    f"Spark has no {word} JOIN: it would read `{tok.text}` as a table alias and "
                    "run an inner join, a different result",
                    "join on the condition with a window (row_number() OVER ...) instead"
                    if word == "ASOF"
                    else "join on a row_number() column computed on both sides",
                )
            )
    return found


def _by_name(tokens: list[sqlglot.Token], i: int) -> int | None:
    """The end of `[ALL|DISTINCT] BY NAME` starting at `tokens[i]`, if it is there."""
    if i < len(tokens) and tokens[i].token_type in (TokenType.ALL, TokenType.DISTINCT):
        i += 1
    if (
        i + 1 < len(tokens)
        and tokens[i].text.upper() == "BY"
        and tokens[i + 1].text.upper() == "NAME"
    ):
        return tokens[i + 1].end + 1
    return None


def _joins(nxt: sqlglot.Token | None, after: sqlglot.Token | None) -> bool:
    """`JOIN` or `LEFT JOIN` (and the like) follows."""
    if nxt is None:
        return False
    if nxt.token_type is TokenType.JOIN:
        return True
    return after is not None and after.token_type is TokenType.JOIN
