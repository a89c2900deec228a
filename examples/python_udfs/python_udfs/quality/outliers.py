"""Table UDFs: outlier detection over a whole table of sensor readings."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sqlflowc.udf import python_table_udf


@python_table_udf(
    output_schema={
        "reading_id": "BIGINT",
        "sensor": "VARCHAR",
        "celsius": "DOUBLE",
        "z_score": "DOUBLE",
        "is_outlier": "BOOLEAN",
    },
    required_columns=["reading_id", "sensor", "celsius"],
)
def flag_outliers(readings: pa.Table, threshold: float = 3.0) -> pa.Table:
    """Flag readings more than `threshold` standard deviations from their sensor's mean."""
    stats = readings.group_by("sensor").aggregate(
        [("celsius", "mean"), ("celsius", "stddev", pc.VarianceOptions(ddof=1))]
    )
    joined = readings.join(stats, "sensor")
    deviation = pc.subtract(joined["celsius"], joined["celsius_mean"])
    z_score = pc.divide(deviation, joined["celsius_stddev"])
    table = pa.table(
        {
            "reading_id": joined["reading_id"],
            "sensor": joined["sensor"],
            "celsius": joined["celsius"],
            "z_score": z_score,
            "is_outlier": pc.greater(pc.abs(z_score), threshold),
        }
    )
    return table.sort_by("reading_id")
