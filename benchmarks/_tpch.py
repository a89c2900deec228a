"""The TPC-H-shaped workload the engine benchmarks share: eight tables generated
deterministically with DuckDB at a scale factor (its tpch extension cannot be installed
offline; the columns the queries use), written as Parquet; a pipeline loading them, six queries
shaped like TPC-H Q1, Q3, Q5, Q6, Q10 and Q12 and two exports (`project`); and the same work as
plain SQL statements for a hand-written script (`statements`).
"""

from __future__ import annotations

from pathlib import Path

TABLES = {
    "region": "SELECT r AS r_regionkey, 'REGION' || r AS r_name FROM range(5) t(r)",
    "nation": "SELECT n AS n_nationkey, 'NATION' || n AS n_name, n % 5 AS n_regionkey "
    "FROM range(25) t(n)",
    "supplier": "SELECT s AS s_suppkey, 'Supplier' || s AS s_name, s % 25 AS s_nationkey, "
    "round(random() * 10000, 2) AS s_acctbal FROM range({sup}) t(s)",
    "customer": "SELECT c AS c_custkey, 'Customer' || c AS c_name, c % 25 AS c_nationkey, "
    "round(random() * 10000, 2) AS c_acctbal, ['BUILDING','AUTOMOBILE','MACHINERY'][c % 3 + 1] "
    "AS c_mktsegment FROM range({cust}) t(c)",
    "part": "SELECT p AS p_partkey, 'Part' || p AS p_name, round(900 + p % 1000, 2) AS "
    "p_retailprice FROM range({part}) t(p)",
    "partsupp": "SELECT p AS ps_partkey, p % {sup} AS ps_suppkey, (p * 7) % 9999 AS "
    "ps_availqty FROM range({part}) t(p)",
    "orders": "SELECT o AS o_orderkey, o % {cust} AS o_custkey, ['O','F','P'][o % 3 + 1] AS "
    "o_orderstatus, DATE '1992-01-01' + CAST(o % 2400 AS INTEGER) AS o_orderdate, "
    "['1-URGENT','2-HIGH','3-MEDIUM'][o % 3 + 1] AS o_orderpriority FROM range({orders}) t(o)",
    "lineitem": "SELECT i // 4 AS l_orderkey, i % {part} AS l_partkey, i % {sup} AS l_suppkey, "
    "CAST(1 + i % 50 AS DOUBLE) AS l_quantity, round(1000 + (i * 13) % 90000, 2) AS "
    "l_extendedprice, (i % 11) / 100.0 AS l_discount, (i % 9) / 100.0 AS l_tax, "
    "['A','N','R'][i % 3 + 1] AS l_returnflag, ['O','F'][i % 2 + 1] AS l_linestatus, "
    "DATE '1992-01-02' + CAST(i % 2500 AS INTEGER) AS l_shipdate, "
    "DATE '1992-01-20' + CAST(i % 2500 AS INTEGER) AS l_receiptdate, "
    "['MAIL','SHIP','AIR','RAIL'][i % 4 + 1] AS l_shipmode FROM range({orders} * 4) t(i)",
}

QUERIES = {
    "q1": "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) "
    "AS sum_base_price, sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, "
    "avg(l_discount) AS avg_disc, count(*) AS count_order FROM lineitem WHERE l_shipdate <= "
    "DATE '1998-09-02' GROUP BY l_returnflag, l_linestatus",
    "q3": "SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate "
    "FROM customer JOIN orders ON c_custkey = o_custkey JOIN lineitem ON l_orderkey = o_orderkey "
    "WHERE c_mktsegment = 'BUILDING' AND o_orderdate < DATE '1995-03-15' AND l_shipdate > "
    "DATE '1995-03-15' GROUP BY l_orderkey, o_orderdate",
    "q5": "SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue FROM customer "
    "JOIN orders ON c_custkey = o_custkey JOIN lineitem ON l_orderkey = o_orderkey JOIN supplier "
    "ON l_suppkey = s_suppkey AND c_nationkey = s_nationkey JOIN nation ON s_nationkey = "
    "n_nationkey JOIN region ON n_regionkey = r_regionkey WHERE r_name = 'REGION2' GROUP BY "
    "n_name",
    "q6": "SELECT sum(l_extendedprice * l_discount) AS revenue FROM lineitem WHERE l_shipdate >= "
    "DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 "
    "AND l_quantity < 24",
    "q10": "SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, "
    "n_name FROM customer JOIN orders ON c_custkey = o_custkey JOIN lineitem ON l_orderkey = "
    "o_orderkey JOIN nation ON c_nationkey = n_nationkey WHERE l_returnflag = 'R' GROUP BY "
    "c_custkey, c_name, n_name",
    "q12": "SELECT l_shipmode, sum(CASE WHEN o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 "
    "ELSE 0 END) AS high_line_count, count(*) AS line_count FROM orders JOIN lineitem ON "
    "o_orderkey = l_orderkey WHERE l_shipmode IN ('MAIL', 'SHIP') GROUP BY l_shipmode",
}


def project(root: Path, sf: float) -> Path:
    import duckdb

    sizes = {
        "sup": max(10, int(10_000 * sf)),
        "cust": max(10, int(150_000 * sf)),
        "part": max(10, int(200_000 * sf)),
        "orders": max(10, int(1_500_000 * sf)),
    }
    data = root / "data"
    data.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute("SELECT setseed(0.5)")
        for name, query in TABLES.items():
            con.execute(f"COPY ({query.format(**sizes)}) TO '{data / name}.parquet'")
    lines = [f'SOURCE {n}_src TYPE PARQUET PARAMS {{"path": "data/{n}.parquet"}};' for n in TABLES]
    lines += [f"LOAD {n} FROM {n}_src;" for n in TABLES]
    lines += [f"CREATE TABLE {q} AS {sql};" for q, sql in QUERIES.items()]
    lines += [
        'EXPORT SELECT * FROM q1 TO "target/q1.csv" TYPE CSV OPTIONS {"header": true};',
        'EXPORT SELECT * FROM q10 TO "target/q10.parquet" TYPE PARQUET;',
    ]
    (root / "tpch.sf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "tpch.sf"


def statements(out: str) -> list[str]:
    """The pipeline's work as the SQL a hand-written DuckDB script issues, its exports under
    the folder `out` (relative to the project)."""
    sql = [f"CREATE TABLE {n} AS SELECT * FROM read_parquet('data/{n}.parquet')" for n in TABLES]
    sql += [f"CREATE TABLE {q} AS {query}" for q, query in QUERIES.items()]
    sql += [
        f"COPY (SELECT * FROM q1) TO '{out}/q1.csv' (HEADER true)",
        f"COPY (SELECT * FROM q10) TO '{out}/q10.parquet' (FORMAT parquet)",
    ]
    return sql
