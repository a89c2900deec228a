"""Whether an object registered as a connector keeps the contract of `base.Connector` where a
mistake would otherwise surface later as a traceback: checked once, when the registry loads the
entry point, so a broken plugin is one clear message (SF0901 where a pipeline uses it,
`sqlflowc connect list` otherwise).

`connector_problems(connector, entry_name)` lists what is wrong, in words, or nothing:
- `name`: a string, the entry point's name in any case (`lines = pkg:Lines` → `LINES`);
- `params_schema`: a frozen dataclass the validator supports (`sqlflowc.validation`) deriving
  from `CommonParams`, so `retries`, `retry_delay`, `schema_drift` and `connection` are accepted
  as for every connector; `connection_schema`, when given, the same; `export_schema`, when
  given, a supported dataclass;
- `secret_fields`: names of declared parameters or export options (a misspelt secret field
  would leave the real one unmasked);
- `runtime_class`: None or `"package.module:Class"` (not imported here).
"""

from __future__ import annotations

import re
from typing import Any

from sqlflowc.connectors.base import Connector
from sqlflowc.connectors.params import CommonParams
from sqlflowc.validation import schema_fields, schema_problems

__all__ = ["connector_problems"]

_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def connector_problems(connector: Connector, entry_name: str) -> list[str]:
    """What is wrong with `connector`, registered as `entry_name`; empty when nothing is."""
    problems: list[str] = []
    name = getattr(connector, "name", None)
    if not isinstance(name, str) or not name.strip():
        problems.append('`name` is not set (the type name, e.g. `name = "LINES"`)')
    elif name.strip().upper() != entry_name.upper():
        problems.append(
            f"`name` is {name!r} but the entry point registers it as `{entry_name.lower()}`"
        )
    declared: set[str] = set()
    for attr, required in (
        ("params_schema", True),
        ("connection_schema", False),
        ("export_schema", False),
    ):
        schema: Any = getattr(connector, attr, None)
        if schema is None and not required:
            continue
        found = schema_problems(schema)
        problems.extend(f"`{attr}`: {problem}" for problem in found)
        if found:
            continue
        declared |= set(schema_fields(schema))
        if attr != "export_schema" and not issubclass(schema, CommonParams):
            problems.append(
                f"`{attr}` does not derive from sqlflowc.connectors.CommonParams "
                "(every connector accepts retries, retry_delay, schema_drift and connection)"
            )
    secrets: Any = getattr(connector, "secret_fields", frozenset())
    if isinstance(secrets, str) or not all(isinstance(s, str) for s in secrets):
        problems.append("`secret_fields` is not a set of parameter names")
    elif declared:
        unknown = sorted(set(secrets) - declared)
        if unknown:
            problems.append(
                f"`secret_fields` names {', '.join(f'`{u}`' for u in unknown)}, which "
                "no parameter or export option is"
            )
    runtime = getattr(connector, "runtime_class", None)
    if runtime is not None and not (isinstance(runtime, str) and _IMPORT_PATH.fullmatch(runtime)):
        problems.append(f'`runtime_class` is {runtime!r}, not "package.module:Class"')
    return problems
