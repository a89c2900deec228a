"""Profiles: both layouts, defaults, errors at the right line, lazy connection resolution."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import rows, sqlflowc_process
from sqlflowc.connectors.connections import ConnectionConfig, resolve_connection
from sqlflowc.connectors.secrets import hide_dsn_password, is_secret_field, masked
from sqlflowc.diagnostics import Code, CompileError, Severity, render_text
from sqlflowc.profiles import (
    DEFAULT_DATABASE,
    available_profiles,
    find_project_dir,
    load_profile,
)
from sqlflowc.source import SourceMap

NO_ENV: dict[str, str] = {}


def write_profile(project: Path, name: str, text: str, suffix: str = ".yml") -> Path:
    path = project / "profiles" / f"{name}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(project: Path, name: str | None) -> tuple[CompileError, str]:
    sources = SourceMap()
    with pytest.raises(CompileError) as info:
        load_profile(project, name, sources)
    err = info.value
    assert err.sources is sources
    return err, render_text(err.diagnostics, sources)


CURRENT = """\
    engine: {type: DuckDB, path: target/dev.duckdb, threads: 4, memory_limit: 4GB}
    variables: {env: dev, limit: 10}
    connections:
      warehouse: {type: postgres, host: localhost, port: 5432, password: "${PG_PASSWORD}"}
      lake: {type: s3, bucket: "b-${ENV|dev}", nested: {token: "${TOKEN|'a b'}"}, hosts: ["${H}"]}
      broken: {type: nosuch, key: "${NEVER_SET}"}
    schema_policy: evolve
"""


# -- finding the project ------------------------------------------------------------------------


def test_find_project_dir(tmp_path: Path) -> None:
    (tmp_path / "proj" / "profiles").mkdir(parents=True)
    pipeline = tmp_path / "proj" / "pipelines" / "deep" / "p.sf"
    pipeline.parent.mkdir(parents=True)
    pipeline.write_text("", encoding="utf-8")
    assert find_project_dir(pipeline) == tmp_path / "proj"

    (tmp_path / "other" / "pipes").mkdir(parents=True)
    (tmp_path / "other" / "sqlflow.yml").write_text("", encoding="utf-8")
    assert find_project_dir(tmp_path / "other" / "pipes" / "x.sf") == tmp_path / "other"

    lone = tmp_path / "lone" / "x.sf"
    lone.parent.mkdir()
    assert find_project_dir(lone) == tmp_path / "lone"


# -- defaults and selection ---------------------------------------------------------------------


def test_no_profiles_gives_default(tmp_path: Path) -> None:
    prof = load_profile(tmp_path, None)
    assert prof.name is None and prof.path is None
    assert prof.engine.path == str(tmp_path / DEFAULT_DATABASE)
    assert prof.engine.threads is None and prof.engine.memory_limit is None
    assert prof.variables == {} and prof.connections == {} and prof.schema_policy == "strict"


def test_dev_is_the_default_and_names_select(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", "variables: {env: dev}\n")
    write_profile(tmp_path, "prod", "variables: {env: prod}\n", suffix=".yaml")
    assert load_profile(tmp_path, None).variables == {"env": "dev"}
    assert load_profile(tmp_path, "prod").variables == {"env": "prod"}
    assert available_profiles(tmp_path) == ["dev", "prod"]


def test_missing_named_profile_lists_available(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", "{}\n")
    write_profile(tmp_path, "production", "{}\n")
    err, _ = load_error(tmp_path, "prodution")
    [d] = err.diagnostics
    assert d.code is Code.PROFILE_ERROR and "`prodution` not found" in d.message
    assert d.notes == ("available profiles: dev, production",)
    assert d.help == "did you mean `production`?"
    err, _ = load_error(tmp_path, "../dev")
    assert "not found" in err.diagnostics[0].message


def test_empty_file_is_an_empty_profile(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", "# nothing yet\n")
    prof = load_profile(tmp_path, None)
    assert prof.name == "dev" and prof.engine.path == str(tmp_path / DEFAULT_DATABASE)


# -- the two layouts ----------------------------------------------------------------------------


def test_current_layout(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", CURRENT)
    prof = load_profile(tmp_path, "dev")
    assert prof.engine.path == str(tmp_path / "target" / "dev.duckdb")
    assert (prof.engine.threads, prof.engine.memory_limit, prof.engine.type) == (4, "4GB", "duckdb")
    assert prof.variables == {"env": "dev", "limit": 10}
    assert prof.schema_policy == "evolve"
    assert set(prof.connections) == {"warehouse", "lake", "broken"}
    assert prof.connections["warehouse"]["password"] == "${PG_PASSWORD}"  # raw until used
    assert prof.warnings == ()


def test_memory_and_absolute_paths(tmp_path: Path) -> None:
    write_profile(tmp_path, "mem", "engine: {path: ':memory:'}\n")
    write_profile(tmp_path, "abs", f"engine: {{path: {tmp_path / 'x.db'}}}\n")
    assert load_profile(tmp_path, "mem").engine.path == ":memory:"
    assert load_profile(tmp_path, "abs").engine.path == str(tmp_path / "x.db")


def test_earlier_layout(tmp_path: Path) -> None:
    write_profile(
        tmp_path,
        "dev",
        """\
        engines:
          duckdb:
            mode: memory
            memory_limit: 2GB
        log_level: info
        module_log_levels: {sqlflow.core.engines: info}
        variables:
          date: ${DATE}
        connectors:
          postgres:
            type: POSTGRES
            params:
              host: postgres
              port: 5432
              password: "${PG_PASSWORD}"
        """,
    )
    write_profile(
        tmp_path,
        "prod",
        """\
        engines:
          default: duckdb
          duckdb: {mode: persistent, path: target/prod.db, threads: 2}
        """,
    )
    write_profile(tmp_path, "bare", "engines: {duckdb: {mode: persistent}}\n")
    dev = load_profile(tmp_path, None)
    assert dev.engine.path == ":memory:" and dev.engine.memory_limit == "2GB"
    assert dev.variables == {"date": "${DATE}"}
    assert dev.connections == {
        "postgres": {
            "type": "POSTGRES",
            "host": "postgres",
            "port": 5432,
            "password": "${PG_PASSWORD}",
        }
    }
    assert [(d.code, d.severity) for d in dev.warnings] == [
        (Code.OBSOLETE_PARAM, Severity.WARNING)
    ] * 2
    prod = load_profile(tmp_path, "prod")
    assert prod.engine.path == str(tmp_path / "target" / "prod.db") and prod.engine.threads == 2
    assert load_profile(tmp_path, "bare").engine.path == str(tmp_path / DEFAULT_DATABASE)

    # A used connection of the earlier layout resolves, and errors point into `params:`.
    with pytest.raises(CompileError) as info:
        resolve_connection(dev, "postgres", NO_ENV.get)
    text = render_text(info.value.diagnostics, info.value.sources or SourceMap())
    assert "dev.yml:15:" in text and "`${PG_PASSWORD}`" in text
    conn = resolve_connection(dev, "postgres", {"PG_PASSWORD": "pw"}.get)
    assert conn.type == "POSTGRES" and conn.params["password"] == "pw"


# -- errors, anchored in the file ---------------------------------------------------------------


def test_bad_yaml_location(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", "variables:\n  a: 1\n  b: [1, 2\nengine: {}\n")
    err, text = load_error(tmp_path, None)
    [d] = err.diagnostics
    assert d.code is Code.PROFILE_ERROR and "invalid YAML" in d.message
    assert "dev.yml:4:" in text.splitlines()[0]
    assert d.notes and "line 3, column 6" in d.notes[0]


def test_duplicate_top_level_key_is_an_error_at_the_second(tmp_path: Path) -> None:
    write_profile(
        tmp_path, "dev", "variables: {a: 1}\nengine: {path: x.duckdb}\nvariables: {b: 2}\n"
    )
    err, text = load_error(tmp_path, None)
    [d] = err.diagnostics
    assert d.code is Code.PROFILE_ERROR and d.is_error
    assert d.message == "key `variables` is given twice in profile `dev`"
    assert "dev.yml:3:1:" in text.splitlines()[0]
    assert "^^^^^^^^^ given again here" in text
    assert d.notes == ("first given at line 1, column 1",)


def test_duplicate_nested_key_is_an_error_and_merge_overrides_are_not(tmp_path: Path) -> None:
    write_profile(
        tmp_path,
        "dev",
        """\
        connections:
          warehouse:
            type: postgres
            host: a
            host: b
        """,
    )
    err, text = load_error(tmp_path, None)
    [d] = err.diagnostics
    assert d.message == "key `host` is given twice in profile `dev`"
    assert "dev.yml:5:5:" in text.splitlines()[0]
    assert d.notes == ("first given at line 4, column 5",)

    write_profile(
        tmp_path,
        "merged",
        """\
        variables:
          <<: {env: base, limit: 1}
          env: merged
        """,
    )
    profile = load_profile(tmp_path, "merged", SourceMap())
    assert dict(profile.variables) == {"env": "merged", "limit": 1}


def test_bad_yaml_tab_indentation(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", "variables:\n\ta: 1\n")
    _, text = load_error(tmp_path, None)
    assert "dev.yml:2:1:" in text


def test_bad_fields_all_reported_at_their_lines(tmp_path: Path) -> None:
    write_profile(
        tmp_path,
        "dev",
        """\
        engine:
          path: x.db
          threds: 4
        schema_policy: loose
        varables: {}
        """,
    )
    err, text = load_error(tmp_path, None)
    by_msg = {d.message: d for d in err.diagnostics}
    assert len(err.diagnostics) == 3
    threds = by_msg["unknown profile key `engine.threds`"]
    assert threds.help == "did you mean `threads`?"
    assert threds.notes == (
        "accepted here: conf, master, memory_limit, path, remote, threads, type, warehouse",
    )
    top = by_msg["unknown profile key `varables`"]
    assert top.help == "did you mean `variables`?"
    assert "dev.yml:3:3:" in text and "dev.yml:4:16:" in text and "dev.yml:5:1:" in text
    assert "got 'loose'" in text


@pytest.mark.parametrize(
    ("body", "needle", "where"),
    [
        (
            "engine: {threads: four}\n",
            "key `engine.threads` expects an integer, got 'four'",
            "1:19",
        ),
        ("engine: {threads: 0}\n", "greater than or equal to 1", "1:19"),
        ("engine: {type: postgres}\n", "engine `postgres` is not supported", "1:16"),
        ("variables: [1, 2]\n", "key `variables` expects an object", "1:12"),
        ("connections: {a: 5}\n", "connections.a", "1:18"),
        ("- just\n- a list\n", "must be a mapping", "1:1"),
        ("engine: {}\nengines: {}\n", "both `engine:` and the earlier `engines:`", "2:1"),
    ],
)
def test_field_errors(tmp_path: Path, body: str, needle: str, where: str) -> None:
    write_profile(tmp_path, "dev", body)
    err, text = load_error(tmp_path, None)
    assert any(needle in d.message for d in err.diagnostics), text
    assert f"dev.yml:{where}:" in text


# -- lazy connections ---------------------------------------------------------------------------


def test_unset_variable_in_unused_connection_is_harmless(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", CURRENT)
    prof = load_profile(tmp_path, None)
    env = {"PG_PASSWORD": "s3cr3t"}
    conn = resolve_connection(prof, "warehouse", env.get)
    assert conn == ConnectionConfig(
        "warehouse", "postgres", {"host": "localhost", "port": 5432, "password": "s3cr3t"}
    )
    assert conn.display_params() == {"host": "localhost", "port": 5432, "password": "***"}


def test_defaults_nested_values_and_lists(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", CURRENT)
    prof = load_profile(tmp_path, None)
    conn = resolve_connection(prof, "lake", {"H": "h1"}.get)
    assert conn.type == "s3"
    assert conn.params == {"bucket": "b-dev", "nested": {"token": "a b"}, "hosts": ["h1"]}
    conn = resolve_connection(prof, "LAKE", {"H": "h1", "ENV": "prod", "TOKEN": "t"}.get)
    assert conn.name == "lake"
    assert conn.params["bucket"] == "b-prod" and conn.params["nested"] == {"token": "t"}


def test_unset_variable_in_used_connection_points_at_value(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", CURRENT)
    prof = load_profile(tmp_path, None)
    with pytest.raises(CompileError) as info:
        resolve_connection(prof, "broken", NO_ENV.get)
    [d] = info.value.diagnostics
    assert d.code is Code.PROFILE_ERROR and "`${NEVER_SET}`" in d.message
    text = render_text([d], info.value.sources or SourceMap())
    assert "dev.yml:6:" in text


def test_unknown_connection(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", CURRENT)
    prof = load_profile(tmp_path, None)
    with pytest.raises(CompileError) as info:
        resolve_connection(prof, "warehose", NO_ENV.get)
    [d] = info.value.diagnostics
    assert d.code is Code.UNKNOWN_CONNECTION
    assert d.help == "did you mean `warehouse`?"
    assert d.notes == ("connections: broken, lake, warehouse",)


def test_connection_without_type(tmp_path: Path) -> None:
    write_profile(tmp_path, "dev", "connections:\n  c: {host: x}\n")
    with pytest.raises(CompileError) as info:
        resolve_connection(load_profile(tmp_path, None), "c", NO_ENV.get)
    assert "has no `type`" in info.value.diagnostics[0].message


def test_secret_fields() -> None:
    assert is_secret_field("password") and is_secret_field("Secret_Access_Key")
    assert is_secret_field("session_token") and is_secret_field("api_token")
    assert is_secret_field("x", {"x"}) and not is_secret_field("host")
    # a connection string is not secret as a whole; the password inside it is
    assert not is_secret_field("dsn")
    assert masked({"dsn": "postgresql://me:pw@db/x", "password": "p", "host": "h"}) == {
        "dsn": "postgresql://me:***@db/x",
        "password": "***",
        "host": "h",
    }
    hide = lambda pw: "***"  # noqa: E731
    assert hide_dsn_password("host=h password=a&b user=u", hide) == "host=h password=*** user=u"
    assert hide_dsn_password("https://h/p?user=u&password=x&y=1", hide) == (
        "https://h/p?user=u&password=***&y=1"
    )
    assert hide_dsn_password("s3://bucket/key.csv", hide) == "s3://bucket/key.csv"


def test_the_profile_memory_limit_bounds_the_run_database(tmp_path: Path) -> None:
    """`engine.memory_limit` reaches the run's DuckDB (docs/connectors/postgresql.md: what
    bounds the cache of a large LOAD's table)."""
    write_profile(tmp_path, "dev", "engine: {path: target/dev.duckdb, memory_limit: 64MB}\n")
    (tmp_path / "p.sf").write_text(
        "CREATE TABLE settings AS SELECT current_setting('memory_limit') AS memory_limit;\n",
        encoding="utf-8",
    )
    done = sqlflowc_process("run", "p.sf", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(tmp_path / "target" / "dev.duckdb", "SELECT * FROM settings") == [("61.0 MiB",)]
