from sqlflowc.udf import python_scalar_udf


@python_scalar_udf(name="cents")
def to_cents(amount: float) -> int:
    return int(amount * 100)


@python_scalar_udf(name="cents")
def as_cents(amount: float) -> int:
    return round(amount * 100)
