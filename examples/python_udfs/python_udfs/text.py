"""Text clean-up, one row at a time."""

from __future__ import annotations

from sqlflowc.udf import python_scalar_udf


@python_scalar_udf
def clean_name(name: str) -> str:
    """Trim, collapse inner spaces and capitalise each word."""
    return " ".join(word.capitalize() for word in name.split())


@python_scalar_udf
def email_domain(email: str | None) -> str | None:
    """The lower-cased domain of an e-mail address, or NULL when there is none."""
    if email is None or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower()


@python_scalar_udf(name="normalize_code")
def code(raw: str, prefix: str = "C") -> str:
    """`ab-12` → `C-AB12`: upper-case, without separators, with a prefix."""
    return f"{prefix}-{''.join(ch for ch in raw if ch.isalnum()).upper()}"
