"""Replace every secret in source parameters and export options by a placeholder.

Requires: a lowered `Program` (`lower_program`): parameters and options hold real values, and a
secret variable spliced into one shows as its `${name}` placeholder, with `Program.secrets`
holding the real text.
Ensures: nothing a plan or a log shows holds a secret. In source PARAMS (profile connection
fields merged in) and export OPTIONS, a field whose name is secret (`password`,
`secret_access_key`, ...: `connectors/secrets.is_secret_field`, plus the fields the connector
declares in `secret_fields`) and the password inside a `dsn`/`uri`/`url`/`connection_string`
(also an export's `TO` URI, in `Export.uri_display`) become a placeholder
`${__source__.<source>.<field>}` (`${__export__.<n>.<field>}` for the n-th EXPORT, counting from
0), and `Program.secrets` maps the key to the real text (secrets are always text). A field that
already is a lone placeholder of a secret keeps it. The executor substitutes every `${key}` of
`Program.secrets` back in SQL, URIs and parameters alike. `Load.source` is the masked source.
A variable whose value became a secret field's (`"password": "${PGPW}"`) leaves
`Program.variables`.

>>> from sqlflowc.api import compile_context, parse, to_program
>>> ctx = compile_context()
>>> text = 'SOURCE s TYPE CSV PARAMS {"path": "a.csv", "password": "hunter2"};'
>>> prog = to_program(parse(text, sources=ctx.sources), ctx, program_passes=())
>>> masked = mask_secrets(prog, ctx)
>>> masked.sources["s"].params["password"], masked.secrets["__source__.s.password"]
('${__source__.s.password}', 'hunter2')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sqlflowc.connectors.registry import PluginError, get_connector
from sqlflowc.connectors.secrets import DSN_FIELDS, hide_dsn_password, is_secret_field
from sqlflowc.ir import program
from sqlflowc.passes.context import PassContext
from sqlflowc.passes.variables import (
    JsonData,
    is_placeholder,
    record_secret,
    unmask,
    value_text,
)


def mask_secrets(prog: program.Program, ctx: PassContext) -> program.Program:
    """`prog` with the secrets of its sources and exports replaced by placeholders."""
    masker = _Masker(dict(prog.secrets))
    sources = {
        name: replace(
            source,
            params=masker.mask(source.params, f"__source__.{name}", source.connector),
        )
        for name, source in prog.sources.items()
    }
    statements: list[program.Statement] = []
    exports = 0
    for stmt in prog.statements:
        match stmt:
            case program.Load():
                statements.append(replace(stmt, source=sources[stmt.source.name]))
            case program.Export():
                owner = f"__export__.{exports}"
                exports += 1
                statements.append(
                    replace(
                        stmt,
                        uri_display=masker.mask_dsn(stmt.uri_display, f"{owner}.uri"),
                        options=masker.mask(stmt.options, owner, stmt.format),
                    )
                )
            case _:
                statements.append(stmt)
    # A variable whose value went into a secret field is a secret, whatever its name.
    hidden = set(masker.secrets.values())
    return replace(
        prog,
        statements=tuple(statements),
        sources=sources,
        variables={n: v for n, v in prog.variables.items() if value_text(v) not in hidden},
        secrets=dict(sorted(masker.secrets.items())),
    )


class _Masker:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    def mask(self, data: Mapping[str, JsonData], owner: str, kind: str) -> dict[str, JsonData]:
        """Secret fields of connector type `kind` (and DSN passwords) as placeholders."""
        declared = _declared_secrets(kind)
        out: dict[str, JsonData] = {}
        for key, value in data.items():
            path = f"{owner}.{key}"
            if isinstance(value, dict):
                out[key] = self.mask(value, path, kind)
            elif is_secret_field(key, declared) and value is not None and not self.is_lone(value):
                out[key] = self.placeholder(path, self.unmask(value_text(value)))
            elif key.lower() in DSN_FIELDS and isinstance(value, str):
                out[key] = self.mask_dsn(value, path)
            else:
                out[key] = value
        return out

    def mask_dsn(self, display: str, key: str) -> str:
        """A URL's or a `key=value` DSN's password replaced by a placeholder."""

        def hide(password: str) -> str:
            if self.is_lone(password):
                return password
            return self.placeholder(key, self.unmask(password))

        return hide_dsn_password(display, hide)

    def placeholder(self, name: str, text: str) -> str:
        return "${" + record_secret(self.secrets, name, text) + "}"

    def unmask(self, display: str) -> str:
        return unmask(self.secrets, display)

    def is_lone(self, value: JsonData) -> bool:
        return is_placeholder(self.secrets, value)


def _declared_secrets(kind: str) -> frozenset[str]:
    """The secret fields connector type `kind` declares beyond the common names; none when the
    type is unknown or its plugin broken (check_connectors reports that)."""
    try:
        connector = get_connector(kind)
    except PluginError:
        return frozenset()
    if connector is None:
        return frozenset()
    return frozenset(name.lower() for name in connector.secret_fields)
