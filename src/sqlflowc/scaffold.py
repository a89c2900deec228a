"""`sqlflowc init`: write a small starter project that runs as created.

All or nothing: an existing file is refused before anything is written, and a write that fails
removes what was created before it (SF0913 either way)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlflowc.diagnostics import Code, CompileError, Diagnostic
from sqlflowc.fileio import file_error

_FILES: dict[str, str] = {
    "profiles/dev.yml": """\
# Profile used by default (`--profile dev`). Paths are relative to the project directory.
engine:
  type: duckdb
  path: target/dev.duckdb
variables:
  environment: dev
  min_total: 20
schema_policy: strict
""",
    "data/customers.csv": """\
customer_id,name,region,signup_date
1,Ada,eu,2024-01-05
2,Grace,us,2024-02-11
3,Linus,eu,2024-03-20
4,Margaret,us,2024-04-02
""",
    "data/orders.csv": """\
order_id,customer_id,amount,ordered_at
100,1,25.50,2024-05-01
101,2,12.00,2024-05-02
102,1,40.00,2024-05-03
103,3,18.25,2024-05-03
104,4,55.10,2024-05-04
""",
    "pipelines/example.sf": """\
-- A starter pipeline: load two CSV files, join them, export a report.
SOURCE customers_csv TYPE CSV PARAMS {"path": "data/customers.csv", "has_header": true};
SOURCE orders_csv TYPE CSV PARAMS {"path": "data/orders.csv", "has_header": true};

LOAD customers FROM customers_csv;
LOAD orders FROM orders_csv;

CREATE TABLE customer_totals AS
SELECT c.customer_id, c.name, c.region, SUM(o.amount) AS total, COUNT(*) AS orders
FROM customers AS c
JOIN orders AS o USING (customer_id)
GROUP BY ALL;

IF ${environment} == 'dev' THEN
    -- Only in development: keep every customer above a small threshold.
    CREATE TABLE report AS
    SELECT * FROM customer_totals WHERE total >= ${min_total} ORDER BY total DESC;
ELSE
    CREATE TABLE report AS SELECT * FROM customer_totals ORDER BY total DESC;
END IF;

EXPORT report TO "target/report_${environment}.csv" TYPE CSV OPTIONS {"header": true};
""",
    ".gitignore": "target/\n",
}


def create_project(directory: Path) -> list[Path]:
    """Write the starter files; raises CompileError (SF0913) when one of them exists already or
    a file cannot be written — after removing whatever it had created, so a failed `init`
    leaves the disk as it was."""
    targets = [directory / rel for rel in _FILES]
    existing = [p for p in targets if p.exists() or p.is_symlink()]
    if existing:
        raise CompileError(
            [
                Diagnostic(
                    Code.FILE_ERROR,
                    f"cannot create {existing[0]}: it already exists",
                    help="`sqlflowc init` writes only into a new directory, or one without "
                    "these files",
                )
            ]
        )
    made: list[Path] = []  # files and directories created, in order
    path = directory
    try:
        for rel, text in _FILES.items():
            path = directory / rel
            missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                made.append(folder)
            with open(path, "x", encoding="utf-8") as fh:
                made.append(path)
                fh.write(text)
    except OSError as err:
        for created in reversed(made):
            with contextlib.suppress(OSError):
                created.rmdir() if created.is_dir() else created.unlink()
        raise CompileError([file_error("create", path, err)]) from None
    return targets
