"""The one checker of connector parameters and export options: a mapping written in a `.sf`
file, validated against a schema (a frozen dataclass, see `sqlflowc.validation`), every problem
reported at its place and nothing raised.

`check_params(schema, given, site, reporter, obsolete=...)`:
- a key the schema does not declare is an error (`site.code`) at the key, with "did you mean"
  and the accepted keys listed; a key in `obsolete` (an earlier release's, with no effect here)
  is a warning `OBSOLETE_PARAM` at the key, whose help says what to write instead;
- a value of the wrong type names the key, the expected type and the value given; a value a
  check rejects says why; a missing required key points at the statement; all at the value;
- returns the validated parameters (defaults filled in), or None when anything was wrong.

The common parameters every connector accepts (`CommonParams`: `retries`, `retry_delay`,
`schema_drift`) are declared here once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any, TypeVar

from sqlflowc.diagnostics import Code, Diagnostic, Reporter, Severity
from sqlflowc.lean_dataclass import dataclass
from sqlflowc.retry import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY
from sqlflowc.schema.drift import DriftPolicy
from sqlflowc.source import Span
from sqlflowc.suggest import closest
from sqlflowc.validation import (
    FieldError,
    Ge,
    ValidationError,
    describe_type,
    schema_fields,
    validate,
)

__all__ = ["CommonParams", "ParamSite", "check_params"]

P = TypeVar("P")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommonParams:
    """Parameters of every connector: how often a transient fault (a refused or reset
    connection, a timeout, an HTTP 5xx) is retried, and the first delay in seconds (doubled
    after each retry) — local files have no transient faults; remote ones (S3 paths) do —;
    what a run does when the source's schema differs from its accepted snapshot
    (`schema_drift`: fail, warn or accept; unset: the profile's, else warn).
    `connection` names the profile connection whose fields the compiler merged in (written
    `"connection": "name"`, or `SOURCE s FROM "name"`); messages name the connection by it."""

    retries: Annotated[int, Ge(0)] = DEFAULT_RETRIES
    retry_delay: Annotated[float, Ge(0)] = DEFAULT_RETRY_DELAY
    schema_drift: DriftPolicy | None = None
    connection: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamSite:
    """Where a mapping was written and how its problems are worded.

    `owner` names what the mapping configures (`CSV source `orders``, `CSV export`); `noun` is
    what a key is called there (`parameter`, `option`); `span` is the statement's,
    `value_spans`/`key_spans` each key's value and key as written; `unknown_label` labels an
    unknown key.
    """

    code: Code
    owner: str
    noun: str
    span: Span
    value_spans: Mapping[str, Span]
    key_spans: Mapping[str, Span]
    unknown_label: str = ""

    def key_span(self, name: str) -> Span:
        """The key as written, else its value, else the statement."""
        return self.key_spans.get(name) or self.value_spans.get(name, self.span)

    def value_span(self, name: str) -> Span:
        return self.value_spans.get(name, self.span)


def check_params(
    schema: type[P],
    given: Mapping[str, Any],
    site: ParamSite,
    reporter: Reporter,
    *,
    obsolete: Mapping[str, str] | None = None,
) -> P | None:
    """Validate `given` against `schema`; report every problem; the parameters if all is well.

    `obsolete` maps an accepted-but-ignored key to the help of its warning.
    """
    fields = schema_fields(schema)
    accepted = sorted(fields)
    known: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in given.items():
        if name in fields:
            known[name] = value
        elif obsolete is not None and name in obsolete:
            reporter.warning(
                Code.OBSOLETE_PARAM,
                f"{site.noun} `{name}` of {site.owner} has no effect here and is ignored",
                site.key_span(name),
                help=obsolete[name],
            )
        else:
            unknown.append(name)
    # A misspelt key (`pth`) and the problem it causes (`path` missing) are one diagnostic.
    meant = {name: closest(name, accepted) for name in unknown}
    try:
        parsed = validate(schema, known)
    except ValidationError as err:
        _report(err, schema, known, site, reporter, meant)
        parsed = None
    for name, guess in meant.items():
        reporter.add(_unknown(site, name, guess, accepted))
    return parsed if not unknown else None


def _unknown(
    site: ParamSite, name: str, guess: str | None, accepted: list[str], why: str = ""
) -> Diagnostic:
    """The diagnostic of an unknown key; `why` the problem its misspelling caused."""
    return Diagnostic(
        site.code,
        f"unknown {site.noun} `{name}` for {site.owner}{why}",
        site.key_span(name),
        Severity.ERROR,
        label=site.unknown_label,
        help=f"did you mean `{guess}`?" if guess else "",
        notes=(f"accepted {site.noun}s: {', '.join(accepted) or 'none'}",),
    )


def _misspelt(meant: dict[str, str | None], wanted: Collection[str]) -> str | None:
    """The unknown key (taken out of `meant`) whose guess is one of `wanted`, if any."""
    for name, guess in meant.items():
        if guess is not None and guess in wanted:
            del meant[name]
            return name
    return None


def _report(
    err: ValidationError,
    schema: type[Any],
    given: Mapping[str, Any],
    site: ParamSite,
    reporter: Reporter,
    meant: dict[str, str | None],
) -> None:
    """One diagnostic per offending key (a list can hold several bad items); a problem a
    misspelt key in `meant` explains is told with that key's diagnostic (and taken out)."""
    accepted = sorted(schema_fields(schema))
    by_key: dict[str, list[FieldError]] = {}
    for e in err.errors:
        by_key.setdefault(str(e.path[0]) if e.path else "", []).append(e)
    for name, errors in by_key.items():
        if not name:
            problem = _lower_first(errors[0].problem)
            typo = _misspelt(meant, set(re.findall(r"`([^`]+)`", problem)))
            if typo is not None:
                why = f": {problem}"
                reporter.add(_unknown(site, typo, closest(typo, accepted), accepted, why))
            else:
                reporter.error(site.code, f"{site.owner}: {problem}", site.span)
        elif errors[0].kind == "missing":
            typo = _misspelt(meant, {name})
            if typo is not None:
                why = f", which needs `{name}`"
                reporter.add(_unknown(site, typo, name, accepted, why))
                continue
            reporter.error(
                site.code,
                f"{site.owner} needs {site.noun} `{name}`",
                site.span,
                label=f"`{name}` missing",
            )
        else:
            value = _show(given.get(name))
            if all(e.kind == "type" for e in errors):
                expected = describe_type(schema_fields(schema)[name].annotation)
                message = f"{site.noun} `{name}` expects {expected}, got {value}"
            else:
                first = next(e for e in errors if e.kind != "type")
                message = f"{site.noun} `{name}`: {_lower_first(first.problem)}, got {value}"
            reporter.error(site.code, f"{site.owner}: {message}", site.value_span(name))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
