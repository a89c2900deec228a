from sqlflowc.udf import python_scalar_udf


@python_scalar_udf
def to_cents(amount):
    return int(amount * 100)
