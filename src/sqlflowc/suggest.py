"""The one "did you mean" of every diagnostic: the known name closest to a misspelt one.

Names are compared case-insensitively (DuckDB identifiers, keywords, connector types and most of
our names are), and a candidate that differs from the word only in case is always the answer;
so is one that differs by two adjacent letters swapped (`KYE` for `KEY`, `FORM` for `FROM`: the
commonest typo, which the ratio below undervalues in short words). Otherwise the closest
candidate by `difflib`'s ratio wins when it reaches `cutoff` (0.6 by default; a caller raises
it where a wrong guess would mislead more than silence, e.g. for SQL functions that may be
DuckDB's own).

>>> closest("regoin", ["region", "country"])
'region'
>>> did_you_mean("cvs", ["CSV", "JSON"])
'did you mean `CSV`?'
>>> closest("kye", ["BY", "KEY", "LOOKBACK"])
'KEY'
>>> did_you_mean("zzz", ["CSV"])
''
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate nearest to `word` (case-insensitively), or None when none is close."""
    names = list(dict.fromkeys(candidates))
    folded = word.lower()
    for name in names:
        if name != word and name.lower() == folded:
            return name
    for name in names:
        if _swapped(folded, name.lower()):
            return name
    by_folded: dict[str, str] = {}
    for name in names:
        # difflib's ratio is at most 2·shorter/(both lengths): skip names it cannot reach (a
        # 1 MB word compared with keywords took seconds)
        if cutoff <= 0 or max(len(name), len(folded)) * cutoff <= min(len(name), len(folded)) * (
            2 - cutoff
        ):
            by_folded.setdefault(name.lower(), name)
    import difflib  # (on an error only: not imported by every command)

    found = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=cutoff)
    return by_folded[found[0]] if found else None


def _swapped(word: str, name: str) -> bool:
    """Whether `name` is `word` with two adjacent letters swapped (words of 3 letters or more)."""
    if len(word) != len(name) or len(word) < 3 or word == name:
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, name, strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and word[diff[0]] == name[diff[1]]
        and word[diff[1]] == name[diff[0]]
    )


def did_you_mean(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`did you mean `x`?` for the closest candidate, else the empty string."""
    found = closest(word, candidates, cutoff=cutoff)
    return f"did you mean `{found}`?" if found is not None else ""
