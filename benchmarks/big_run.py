"""big_run: 10 CREATE TABLE AS transforms (aggregates, joins, filters, a window) over a
generated base table of 5M rows (DuckDB `range()`), run with `api.run` against the plan's SQL
run directly with duckdb, each statement in its own transaction like the executor does. Both
use a fresh file database and include opening and closing it. BENCH_SCALE scales the rows.
"""

from __future__ import annotations

from _common import Context, Row, interleaved, log, log_sample
from per_statement import _Databases, compile_plan, time_direct, time_ours

NAME = "big_run"
TITLE = "big run: base table + 10 transforms over 5M rows"
ROWS = 5_000_000
REPEATS = 7
TARGET = 1.05


def pipeline(rows: int) -> str:
    customers = max(10, rows // 50)
    return f"""
CREATE TABLE base AS
SELECT range AS id,
       range % {customers} AS customer_id,
       (range * 7919) % 1000 / 10.0 AS amount,
       DATE '2024-01-01' + CAST(range % 366 AS INTEGER) AS day,
       CASE range % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped'
            ELSE 'returned' END AS status
FROM range({rows});

CREATE TABLE by_customer AS
SELECT customer_id, COUNT(*) AS orders, SUM(amount) AS revenue, AVG(amount) AS avg_amount
FROM base GROUP BY customer_id;

CREATE TABLE by_day AS
SELECT day, status, COUNT(*) AS orders, SUM(amount) AS revenue
FROM base GROUP BY ALL;

CREATE TABLE paid AS
SELECT * FROM base WHERE status IN ('paid', 'shipped') AND amount > 20;

CREATE TABLE enriched AS
SELECT p.id, p.customer_id, p.day, p.amount, c.orders, p.amount / c.revenue AS share
FROM paid AS p JOIN by_customer AS c USING (customer_id);

CREATE TABLE top_customers AS
SELECT * FROM by_customer ORDER BY revenue DESC LIMIT 1000;

CREATE TABLE top_orders AS
SELECT e.* FROM enriched AS e SEMI JOIN top_customers AS t USING (customer_id);

CREATE TABLE monthly AS
SELECT date_trunc('month', day) AS month, SUM(revenue) AS revenue, SUM(orders) AS orders
FROM by_day GROUP BY 1;

CREATE TABLE returns_rate AS
SELECT customer_id,
       COUNT(*) FILTER (WHERE status = 'returned') / COUNT(*) AS returns_rate,
       MAX(amount) AS max_amount
FROM base GROUP BY customer_id HAVING COUNT(*) > 1;

CREATE TABLE running AS
SELECT day, revenue,
       SUM(revenue) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS week_revenue
FROM (SELECT day, SUM(revenue) AS revenue FROM by_day GROUP BY day);

CREATE TABLE scored AS
SELECT e.customer_id, SUM(e.amount) AS revenue, MAX(r.returns_rate) AS returns_rate,
       COUNT(DISTINCT e.day) AS active_days
FROM enriched AS e LEFT JOIN returns_rate AS r USING (customer_id)
GROUP BY e.customer_id;
"""


def run(ctx: Context) -> list[Row]:
    rows = ctx.scaled(ROWS, minimum=10_000)
    project = ctx.workdir / NAME
    plan, statements = compile_plan(project, pipeline(rows))
    dbs = _Databases(project)
    samples = interleaved(
        {
            "ours": lambda: time_ours(plan, dbs),
            "txn": lambda: time_direct(statements, dbs, transactions=True),
        },
        repeats=REPEATS,
    )
    log(f"  {len(statements)} statements over {rows:,} rows")
    log_sample("sqlflowc api.run", samples["ours"])
    log_sample("duckdb, BEGIN/COMMIT each", samples["txn"])
    row = Row.measured(
        NAME,
        "big_run",
        f"api.run of 11 CTAS over {rows:,} rows vs the same SQL with duckdb, txn each",
        samples["ours"],
        samples["txn"],
        target=f"ratio <= {TARGET:.2f}x",
        extra={"rows": rows},
    )
    row.met = (row.ratio or 0) <= TARGET
    log(
        f"  ratios: of medians {row.ratio:.3f}x, median per round "
        f"{row.extra['paired_ratio']:.3f}x, of CPU times "
        f"{row.extra['ours_cpu'] / row.extra['baseline_cpu']:.3f}x"
    )
    return [row]
