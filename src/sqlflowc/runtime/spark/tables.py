"""The warehouse: each table a directory of Parquet files, `<warehouse>/<table>/`.

Tables are visible to the session's SQL as temporary views over their directories: every
table is registered when the run starts (`register_all`) and again after it is written. A
write (`write`) goes to a staging directory, `<warehouse>/_sqlflow_staging/<token>/`, which is
renamed into place once complete: the old directory is renamed aside first and removed after,
so a failed write leaves the table as it was. Renames go through Hadoop's FileSystem API, so
the warehouse may be local, `hdfs://` or any file system the cluster has (on object stores a
rename is a copy: see docs/engines.md on atomicity). A Spark Connect client has no Hadoop
FileSystem: its warehouse is a directory of this machine the server shares, renamed with
`os.rename`. The DataFrame is written in full before anything is renamed, so a query that
reads the table it replaces is fine.

A write is one Spark job: its rows are counted as it runs (`counts.Counted`), and the table is
registered with the schema it was written with, so no second job counts the rows or reads the
schema back from a footer.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlflowc.names import table_key
from sqlflowc.schema import Column

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

__all__ = ["Staged", "Warehouse"]

STAGING = "_sqlflow_staging"


@dataclass(frozen=True)
class Staged:
    """A complete write in the staging directory, not yet a table."""

    location: str
    rows: int
    schema: StructType  # as Parquet holds it: every column nullable


class _HadoopFiles:
    """The warehouse's directories through the driver's Hadoop FileSystem (local, hdfs://,
    s3a://, ... whatever the cluster has)."""

    def __init__(self, session: SparkSession, root: str) -> None:
        jvm: Any = session.sparkContext._jvm
        self._path_class = jvm.org.apache.hadoop.fs.Path
        conf = session.sparkContext._jsc.hadoopConfiguration()
        self._fs = self._path_class(root).getFileSystem(conf)

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._path_class(path)))

    def mkdirs(self, path: str) -> None:
        self._fs.mkdirs(self._path_class(path))

    def directories(self, path: str) -> list[str]:
        return [
            status.getPath().getName()
            for status in self._fs.listStatus(self._path_class(path))
            if status.isDirectory()
        ]

    def rename(self, source: str, target: str) -> bool:
        return bool(self._fs.rename(self._path_class(source), self._path_class(target)))

    def delete(self, path: str) -> None:
        self._fs.delete(self._path_class(path), True)


class _LocalFiles:
    """The warehouse's directories on this machine's file system (a Spark Connect client has
    no Hadoop FileSystem: the server must see the same directory, on the same machine or a
    shared mount)."""

    @staticmethod
    def _local(path: str) -> Path:
        return Path(path.removeprefix("file:"))

    def exists(self, path: str) -> bool:
        return self._local(path).exists()

    def mkdirs(self, path: str) -> None:
        self._local(path).mkdir(parents=True, exist_ok=True)

    def directories(self, path: str) -> list[str]:
        return [p.name for p in self._local(path).iterdir() if p.is_dir()]

    def rename(self, source: str, target: str) -> bool:
        try:
            os.rename(self._local(source), self._local(target))
        except OSError:
            return False
        return True

    def delete(self, path: str) -> None:
        shutil.rmtree(self._local(path), ignore_errors=True)


class Warehouse:
    """The tables of one warehouse directory, for one session."""

    def __init__(self, session: SparkSession, root: str) -> None:
        from sqlflowc.runtime.spark.session import is_connect

        self.session = session
        self.root = root.rstrip("/")
        self.files: _HadoopFiles | _LocalFiles
        if is_connect(session):
            if "://" in self.root and not self.root.startswith("file:"):
                raise OSError(
                    "on Spark Connect the warehouse must be a directory this machine and the "
                    f"server share (a local or mounted path), not {self.root}"
                )
            self.files = _LocalFiles()
        else:
            self.files = _HadoopFiles(session, self.root)
        self.files.mkdirs(self.root)

    def _path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def location(self, table: str) -> str:
        return f"{self.root}/{table_key(table)}"

    def exists(self, table: str) -> bool:
        return self.files.exists(self._path(table_key(table)))

    def tables(self) -> list[str]:
        """The tables in the warehouse (directories not starting with `_` or `.`)."""
        names = self.files.directories(self._path())
        return sorted(name for name in names if not name.startswith(("_", ".")))

    def register(self, table: str, schema: StructType | None = None) -> None:
        """Make the table visible to SQL under its name; `schema`, the one it was written with,
        spares Spark a job reading it from the files."""
        reader = self.session.read if schema is None else self.session.read.schema(schema)
        reader.parquet(self.location(table)).createOrReplaceTempView(table_key(table))

    def register_all(self) -> None:
        for table in self.tables():
            self.register(table)

    def columns(self, table: str) -> list[Column] | None:
        """The table's columns with DuckDB's type names (its schema snapshot); None when the
        warehouse has no such table (a view, a dropped table)."""
        from sqlflowc.runtime.spark.types import duckdb_columns

        if not self.exists(table):
            return None
        return duckdb_columns(self.session.table(table_key(table)).schema)

    def read(self, table: str) -> DataFrame:
        return self.session.read.parquet(self.location(table))

    def stage(self, frame: DataFrame) -> Staged:
        """Write `frame` to a new staging directory, counting its rows as it is written."""
        from sqlflowc.runtime.spark.counts import Counted

        location = f"{self.root}/{STAGING}/{secrets.token_hex(8)}"
        counted = Counted(frame)
        counted.frame.write.mode("error").parquet(location)
        schema = _nullable(frame.schema)
        rows = counted.rows()
        if rows is None:  # Spark did not report the count: count what was written
            rows = int(self.session.read.schema(schema).parquet(location).count())
        return Staged(location, rows, schema)

    def read_staged(self, staged: Staged) -> DataFrame:
        return self.session.read.schema(staged.schema).parquet(staged.location)

    def swap(self, table: str, staged: Staged) -> None:
        """Put the staged directory in the table's place (the old one removed after)."""
        key = table_key(table)
        target = self._path(key)
        aside = self._path(STAGING, f"{key}.old.{secrets.token_hex(4)}")
        had = self.files.exists(target)
        if had and not self.files.rename(target, aside):
            raise OSError(f"cannot move table `{key}` aside in {self.root}")
        if not self.files.rename(staged.location, target):
            if had:
                self.files.rename(aside, target)
            raise OSError(f"cannot move the new data of table `{key}` into {self.root}")
        if had:
            self.files.delete(aside)
        self.register(key, staged.schema)

    def write(self, table: str, frame: DataFrame) -> int:
        """Replace the table with `frame`, atomically (see the module docstring); the number
        of rows written."""
        staged = self.stage(frame)
        self.swap(table, staged)
        return staged.rows

    def drop(self, table: str) -> bool:
        """Remove the table; whether there was one."""
        key = table_key(table)
        if not self.exists(key):
            return False
        self.files.delete(self._path(key))
        self.session.catalog.dropTempView(key)
        return True

    def discard(self, staged: Staged) -> None:
        """Remove a staging directory that will not be swapped in."""
        self.files.delete(staged.location)


def _nullable(schema: StructType) -> StructType:
    """`schema` with every column, element and value nullable, as Spark writes it to Parquet
    (and reads it back)."""
    from pyspark.sql.types import StructType

    nullable = _nullable_type(schema)
    assert isinstance(nullable, StructType)
    return nullable


def _nullable_type(kind: DataType) -> DataType:
    from pyspark.sql.types import ArrayType, MapType, StructField, StructType

    if isinstance(kind, StructType):
        return StructType(
            [StructField(f.name, _nullable_type(f.dataType), True, f.metadata) for f in kind]
        )
    if isinstance(kind, ArrayType):
        return ArrayType(_nullable_type(kind.elementType), True)
    if isinstance(kind, MapType):
        return MapType(_nullable_type(kind.keyType), _nullable_type(kind.valueType), True)
    return kind
