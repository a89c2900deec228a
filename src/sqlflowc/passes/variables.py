"""The variable scope shared by `fold_conditionals` and `lower_program` (docs/language.md,
"Variables").

A helper for the passes, not a pass itself: it holds no IR and reports nothing on its own; an
unset variable is handed to `UnknownVariables` (`unknown_variables.py`), which reports it.

Resolution order for `${name}`: command line → the profile's `variables:` → the most recent SET
before the use (in active code) → the environment → the inline default. A command-line value
therefore beats a SET: `SET env = 'dev'` does not override `--var env=prod`. A profile variable
may itself hold `${...}` references, resolved (as text) against the command line, the other
profile variables, the environment and defaults; one that is unset is reported at the use of
the profile variable.

Values keep their type (number, boolean, string, null) and carry the text they are spliced as:
- `value_text`: strings as they are; booleans `true`/`false`; None `null`; integers as digits;
  a float with an integral value below 1e16 without its `.0` (`10.0` → `10`), other floats as
  Python's `repr` (`1.5`, `1e-07`); lists and objects as JSON; anything else (a YAML date) as `str`.
- A SET number keeps its spelling (`SET x = 1.50` splices `1.50`).
- An inline default splices as written; typed (where a type matters: a bare JSON value, a bare
  SET value, a condition) it reads like a loose literal — a number, `true`/`false`/`null` in any
  case, else text — unless it was quoted (`${x|'10'}` is the text `10`).
- A quoted SET value with references (`SET a = "${b|d}"`) splices text, so it is a string.

Secrets: a variable is secret when its name ends in a secret suffix (`connectors/secrets.py`),
when it was marked with `Scope.mark_secret`, or when a SET gave it a value built from a secret.
A secret value is never shown: where it is spliced, the display text holds the placeholder
`${key}` and `Scope.secrets[key]` the real text (`key` is the variable name; `name#2`,
`name#3`, ... when the same name is used with different values). The executor substitutes
placeholders back. A secret a SET built from other secrets also gets a template,
`Scope.templates[key]`: its text with those secrets as their placeholders (no secret in it), so
a plan run with the underlying secrets can build it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, assert_never

from sqlflowc.connectors.secrets import is_secret_name
from sqlflowc.diagnostics import Reporter
from sqlflowc.ir import ast
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span
from sqlflowc.syntax.varref import make_template, split_ref

if TYPE_CHECKING:
    from sqlflowc.passes.unknown_variables import UnknownVariables

JsonData = Any  # a resolved JSON value: dict/list/str/int/float/bool/None


NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_PLACEHOLDER = re.compile(r"\$\{([^{}]+)\}")


def value_text(value: JsonData) -> str:
    """The text a value is spliced as: `value_text(10) == "10"`, `value_text(True) == "true"`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def record_secret(secrets: dict[str, str], name: str, text: str) -> str:
    """Record a secret's text in `secrets` under `name` (`name#2`, ... when `name` already
    stands for another text); the key.

    >>> secrets = {"pw": "a"}
    >>> record_secret(secrets, "pw", "b"), record_secret(secrets, "pw", "a")
    ('pw#2', 'pw')
    """
    key, n = name, 1
    while key in secrets and secrets[key] != text:
        n += 1
        key = f"{name}#{n}"
    secrets[key] = text
    return key


def unmask(secrets: Mapping[str, str], display: str) -> str:
    """The real text behind a display text: placeholders replaced by their secrets."""
    return _PLACEHOLDER.sub(lambda m: secrets.get(m.group(1), m.group(0)), display)


def is_placeholder(secrets: Mapping[str, str], value: JsonData) -> bool:
    """True when `value` is exactly one `${key}` standing for a secret of `secrets`."""
    match = _PLACEHOLDER.fullmatch(value) if isinstance(value, str) else None
    return match is not None and match.group(1) in secrets


def loose_value(text: str) -> JsonData:
    """Read unquoted text as a number, boolean or null when it looks like one, else as text."""
    stripped = text.strip()
    if NUMBER.fullmatch(stripped):
        return int(stripped) if _INTEGER.fullmatch(stripped) else float(stripped)
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return text


@dataclass(frozen=True, slots=True)
class Value:
    """A variable's value: `data` typed, `text` as spliced, `secret` never shown. `shown` is,
    for a secret built from other secrets (a SET), its text with each of those as its `${key}`
    placeholder: how to build it again from them (None for a value given as it is)."""

    data: JsonData
    text: str
    secret: bool = False
    shown: str | None = None


def _default_value(ref: ast.VarRef, secret: bool) -> Value:
    assert ref.default is not None
    quoted = split_ref(ref.raw[2:-1]).quoted
    data = ref.default if quoted else loose_value(ref.default)
    return Value(data=data, text=ref.default, secret=secret)


class Scope:
    """The variables visible at one point of the program, in resolution order."""

    def __init__(
        self,
        *,
        cli: Mapping[str, JsonData],
        profile: Mapping[str, JsonData],
        environ: Mapping[str, str],
    ) -> None:
        self._cli = dict(cli)
        self._profile = dict(profile)
        self._environ = environ  # a Mapping: the compile cache notes each name looked up
        self._sets: dict[str, Value] = {}
        self._broken: set[str] = set()
        self._profile_missing: dict[str, list[str]] = {}
        self._secret_names: set[str] = set()
        self.used: dict[str, Value] = {}
        """Every variable looked up, with the value of its first use."""
        self.secrets: dict[str, str] = {}
        """Placeholder key → the secret text it stands for."""
        self.templates: dict[str, str] = {}
        """Placeholder key → how to build its secret from other placeholders (see `Value`)."""

    @classmethod
    def from_context(cls, ctx: PassContext) -> Scope:
        return cls(cli=ctx.cli_vars, profile=ctx.profile_vars, environ=ctx.environ)

    # -------------------------------------------------------------- secrets

    def is_secret(self, name: str) -> bool:
        return is_secret_name(name) or name in self._secret_names

    def mark_secret(self, name: str) -> None:
        """Treat `name` as secret from now on, whatever it is called."""
        self._secret_names.add(name)

    def secret_key(self, name: str, text: str, template: str | None = None) -> str:
        """Record a secret's text (and its template) and return the placeholder key that
        stands for it."""
        key = record_secret(self.secrets, name, text)
        if template is not None:
            self.templates[key] = template
        return key

    def placeholder(self, name: str, text: str, template: str | None = None) -> str:
        """`${key}` standing for a secret's text in everything that is shown."""
        return "${" + self.secret_key(name, text, template) + "}"

    def unmask(self, display: str) -> str:
        """The real text behind a display text: placeholders replaced by their secrets."""
        return unmask(self.secrets, display)

    def is_placeholder(self, value: JsonData) -> bool:
        """True when `value` is exactly one `${key}` standing for a recorded secret."""
        return is_placeholder(self.secrets, value)

    # -------------------------------------------------------------- lookup

    def get(self, name: str) -> Value | None:
        """The value of `name` (ignoring any inline default), or None when it is not set."""
        secret = self.is_secret(name)
        if name in self._cli:
            data = self._cli[name]
            return Value(data=data, text=value_text(data), secret=secret)
        if name in self._profile:
            return self._profile_value(name, frozenset())
        if name in self._sets:
            value = self._sets[name]
            return value if value.secret or not secret else replace(value, secret=True)
        if name in self._environ:
            return Value(data=self._environ[name], text=self._environ[name], secret=secret)
        return None

    def _profile_value(self, name: str, seen: frozenset[str]) -> Value | None:
        """A profile variable; `${...}` in its text resolve against the command line, the
        other profile variables, the environment and defaults (not SETs: the profile is
        outside the program). None when one is unset (see `profile_missing`)."""
        data = self._profile[name]
        secret = self.is_secret(name)
        if not isinstance(data, str) or "${" not in data:
            return Value(data=data, text=value_text(data), secret=secret)
        template = make_template(data, Span(-1, 0, 0), Reporter())
        parts: list[str] = []
        missing: list[str] = []
        pos = 0
        for ref, offset in zip(template.refs, template.offsets, strict=True):
            parts.append(data[pos:offset])
            pos = offset + len(ref.raw)
            inner = self._outside_program(ref, seen | {name})
            if inner is None:
                missing.append(ref.name)
            else:
                parts.append(inner.text)
                secret = secret or inner.secret
        parts.append(data[pos:])
        if missing:
            self._profile_missing[name] = missing
            return None
        text = "".join(parts)
        return Value(data=text, text=text, secret=secret)

    def _outside_program(self, ref: ast.VarRef, seen: frozenset[str]) -> Value | None:
        secret = self.is_secret(ref.name)
        if ref.name in self._cli:
            data = self._cli[ref.name]
            return Value(data=data, text=value_text(data), secret=secret)
        if ref.name in self._profile and ref.name not in seen:
            return self._profile_value(ref.name, seen)
        if ref.name in self._environ:
            return Value(self._environ[ref.name], self._environ[ref.name], secret)
        return _default_value(ref, secret) if ref.default is not None else None

    def profile_missing(self, name: str) -> list[str]:
        """The unset variables a profile variable refers to (after a failed lookup)."""
        return self._profile_missing.get(name, []) if self.get(name) is None else []

    def lookup(self, ref: ast.VarRef) -> Value | None:
        """`${name}` or `${name|default}`; None when unset without a default."""
        value = self.get(ref.name)
        if value is None and ref.default is not None:
            value = _default_value(ref, self.is_secret(ref.name))
        if value is not None:
            self.used.setdefault(ref.name, value)
        return value

    def assign(self, name: str, value: Value) -> None:
        """Record `SET name = value`."""
        self._sets[name] = value
        self._broken.discard(name)
        if value.secret:
            self.mark_secret(name)

    def fail(self, name: str) -> None:
        """Record a SET whose value could not be resolved (its error is already reported)."""
        self._sets.pop(name, None)
        self._broken.add(name)

    def is_broken(self, name: str) -> bool:
        """True when `name` is unset only because its SET failed: its uses need no error."""
        return name in self._broken and self.get(name) is None

    def names(self) -> list[str]:
        """Every variable name in scope (for "did you mean")."""
        return sorted({*self._cli, *self._profile, *self._sets, *self._environ})


# ------------------------------------------------------------------ splicing


@dataclass(frozen=True, slots=True)
class Piece:
    """One substituted reference: its value occupies `text[start:end]`."""

    ref: ast.VarRef
    value: Value
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Spliced:
    """A template after substitution.

    `display` shows placeholders for secrets. `origin` maps offsets of `text` to file offsets as
    `program.Sql.origin` documents: literal stretches advance with the file; a value maps onto
    its reference character by character, any excess pinned to the reference's last character.
    """

    text: str
    display: str
    origin: tuple[tuple[int, int], ...]
    pieces: tuple[Piece, ...]

    @property
    def secret(self) -> bool:
        return any(p.value.secret for p in self.pieces)


def splice(
    template: ast.Template, scope: Scope, unknown: UnknownVariables, where: str = ""
) -> Spliced | None:
    """Replace each `${...}` by its value's text; None (uses recorded) if a variable is unset."""
    text: list[str] = []
    display: list[str] = []
    origin: list[tuple[int, int]] = []
    pieces: list[Piece] = []
    pos = out = 0
    missing = False
    base = template.span.start
    for ref, offset in zip(template.refs, template.offsets, strict=True):
        if offset > pos:
            origin.append((out, base + pos))
            text.append(template.text[pos:offset])
            display.append(template.text[pos:offset])
            out += offset - pos
        pos = offset + len(ref.raw)
        value = scope.lookup(ref)
        if value is None:
            unknown.missing(ref, scope, where)
            missing = True
            continue
        size = len(value.text)
        raw = max(1, len(ref.raw))
        if size:
            origin.append((out, ref.span.start))
        origin.extend((out + i, ref.span.start + raw - 1) for i in range(raw, size))
        pieces.append(Piece(ref, value, out, out + size))
        text.append(value.text)
        shown = scope.placeholder(ref.name, value.text, value.shown) if value.secret else None
        display.append(value.text if shown is None else shown)
        out += size
    if pos < len(template.text):
        origin.append((out, base + pos))
        text.append(template.text[pos:])
        display.append(template.text[pos:])
    if missing:
        return None
    return Spliced("".join(text), "".join(display), tuple(origin), tuple(pieces))


def set_value(
    stmt: ast.Set, scope: Scope, unknown: UnknownVariables, reporter: Reporter
) -> Value | None:
    """The value a SET assigns (typed per its literal), or None when a reference is unset."""
    match stmt.value:
        case ast.VarRef() as ref:
            value = scope.lookup(ref)
            if value is None:
                unknown.missing(ref, scope)
            return value
        case ast.Literal(value=str() as text) as lit if "${" in text:
            spliced = splice(make_template(text, lit.span.inner(), reporter), scope, unknown)
            if spliced is None:
                return None
            shown = spliced.display if spliced.secret else None
            return Value(data=spliced.text, text=spliced.text, secret=spliced.secret, shown=shown)
        case ast.Literal(value=int() | float() as number) as lit if not isinstance(number, bool):
            return Value(data=number, text=lit.raw)
        case ast.Literal(value=data):
            return Value(data=data, text=value_text(data))
        case _:
            assert_never(stmt.value)


def assign_set(stmt: ast.Set, scope: Scope, unknown: UnknownVariables, reporter: Reporter) -> None:
    """Evaluate a SET and record it in the scope (secret if its name or its value is)."""
    name = stmt.name.value
    value = set_value(stmt, scope, unknown, reporter)
    if value is None:
        scope.fail(name)
        return
    scope.assign(name, replace(value, secret=value.secret or scope.is_secret(name)))
