"""`sqlflowc init`: write a small starter project that runs as created."""

from __future__ import annotations

from pathlib import Path

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
    """Write the starter files; refuses to overwrite anything that exists."""
    targets = [directory / rel for rel in _FILES]
    existing = [p for p in targets if p.exists()]
    if existing:
        raise FileExistsError(
            f"{existing[0]} already exists; `sqlflowc init` writes only into a new directory"
        )
    for rel, text in _FILES.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return targets
