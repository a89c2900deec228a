"""Tax functions, as written for the earlier SQLFlow releases."""

from decimal import Decimal

from sqlflow.udfs import python_scalar_udf


@python_scalar_udf
def apply_discount(price: float, discount_percent: float) -> float:
    """Apply a percentage discount to a price."""
    if price is None:
        return None
    price_float = float(price) if isinstance(price, Decimal) else price
    return price_float * (1 - discount_percent / 100)


@python_scalar_udf(name="with_tax")
def calculate_tax(price: float, tax_rate: float = 0.1) -> float:
    """Price with tax added; the rate may be left out."""
    return price * (1 + tax_rate)
