from sqlflowc.udf import python_scalar_udf

RATES = {"eu": 0.2, "us": 0.1}
DEFAULT = RATES["uk"]


@python_scalar_udf
def tax(amount: float) -> float:
    return amount * DEFAULT
