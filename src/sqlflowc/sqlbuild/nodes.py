"""The sqlglot nodes the load builders share (`sqlbuild.loads`, `sqlbuild.key_checks`):
names we add always quoted, a table name as DuckDB parses it, DuckDB's text of a node, and the
`_source`/`_target` aliases a statement joining a stage with its target gives them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

__all__ = ["SOURCE", "TARGET", "aliased", "col", "ident", "keys_match", "sql", "table"]

SOURCE = "_source"
TARGET = "_target"


def table(name: str) -> exp.Table:
    return exp.to_table(name, dialect="duckdb")


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(ident(name), table=ident(table) if table else None)


def sql(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb")


def keys_match(keys: Sequence[str]) -> exp.Expr:
    """`_target.k1 = _source.k1 AND ...` (NULL never matches, as in MERGE)."""
    conditions = [exp.EQ(this=col(k, TARGET), expression=col(k, SOURCE)) for k in keys]
    return exp.and_(*conditions)


def aliased(name: str, alias: str, *, temp: bool) -> exp.Table:
    node = exp.table_(ident(name)) if temp else table(name)
    node.set("alias", exp.TableAlias(this=ident(alias)))
    return node
