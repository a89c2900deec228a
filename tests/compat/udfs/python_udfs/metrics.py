"""A table UDF declared the earlier releases' way (output_schema), written with pyarrow."""

import pyarrow as pa
import pyarrow.compute as pc
from sqlflow.udfs import python_table_udf


@python_table_udf(
    output_schema={
        "id": "INTEGER",
        "price": "DOUBLE",
        "quantity": "INTEGER",
        "total": "DOUBLE",
    }
)
def add_totals(table: pa.Table) -> pa.Table:
    """Add a `total` column: price * quantity."""
    total = pc.multiply(table.column("price"), pc.cast(table.column("quantity"), pa.float64()))
    return pa.table(
        {
            "id": table.column("id"),
            "price": table.column("price"),
            "quantity": table.column("quantity"),
            "total": total,
        }
    )
