"""`sqlflowc connect list` and `connect test` on the built-in connectors and on plugins — working
ones and broken ones, which are reported with a reason (SF0901), never with a traceback."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import sqlflowc as invoke
from sqlflowc.connectors import registry


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- connect list ---------------------------------------------------------------------------------


def test_list_shows_every_builtin_with_its_parameters() -> None:
    result = invoke("connect", "list")
    assert result.exit_code == 0, result.output
    for name in ("CSV", "JSON", "PARQUET", "POSTGRES"):
        assert f"\n{name} (built-in): " in f"\n{result.stdout}"
    lines = result.stdout.splitlines()
    # a required parameter, a default, a secret
    assert any(line.split()[:4] == ["path", "a", "string", "yes"] for line in lines)
    assert any(line.split() == ["batch_size", "an", "integer", "100000"] for line in lines)
    assert any(line.split() == ["password", "a", "string", "yes"] for line in lines)


def test_list_as_json_for_one_type() -> None:
    result = invoke("connect", "list", "postgres", "--format", "json")
    assert result.exit_code == 0, result.output
    [pg] = json.loads(result.stdout)
    assert pg["type"] == "POSTGRES" and pg["builtin"] and pg["distribution"] == "sqlflowc"
    params = {p["name"]: p for p in pg["params"]}
    assert params["password"] == {
        "name": "password",
        "type": "a string",
        "required": False,
        "default": None,
        "secret": True,
    }
    assert params["port"]["secret"] is False and params["connect_timeout"]["default"] == 10
    # the connector's own parameters first, the common ones last
    assert [p["name"] for p in pg["params"]][-4:] == [
        "retries",
        "retry_delay",
        "schema_drift",
        "connection",
    ]
    assert {o["name"] for o in pg["export_options"]} >= {"table", "mode", "key"}
    [csv] = json.loads(invoke("connect", "list", "CSV", "--format", "json").stdout)
    assert {p["name"]: p["required"] for p in csv["params"]}["path"] is True


def test_export_options_are_only_those_an_export_uses() -> None:
    """`schema_drift` is a SOURCE's policy: every connector accepts it as a parameter, none
    lists it as an export option (an EXPORT given it warns SF0911: test_connectors)."""
    listed = json.loads(invoke("connect", "list", "--format", "json").stdout)
    exports = {
        t["type"]: {o["name"] for o in t["export_options"]} for t in listed if t["export_options"]
    }
    assert {"CSV", "JSON", "PARQUET", "POSTGRES", "S3"} <= set(exports)
    for kind, options in exports.items():
        assert "schema_drift" not in options, kind
        assert "retries" in options and "connection" in options, kind
    params = {t["type"]: {p["name"] for p in t["params"]} for t in listed}
    assert all("schema_drift" in names for names in params.values())


def test_list_an_unknown_type_suggests() -> None:
    result = invoke("connect", "list", "postgre")
    assert result.exit_code == 1
    assert "error[SF0901]: unknown connector type `postgre`" in result.stderr
    assert "did you mean `POSTGRES`?" in result.stderr


# -- plugins, working and broken -----------------------------------------------------------------

PLUGINS = """
    from dataclasses import dataclass
    from datetime import date

    from sqlflowc.connectors import CommonParams, Connector
    from sqlflowc.connectors.files.json import JsonConnector
    from sqlflowc.connectors.runtime import ConnectionTest, ConnectorRuntime


    class Lines(JsonConnector):
        name = "LINES"


    @dataclass(frozen=True, slots=True, kw_only=True)
    class DateParams(CommonParams):
        since: date


    class BadSchema(Connector):
        name = "BADSCHEMA"
        params_schema = DateParams


    @dataclass(frozen=True, slots=True, kw_only=True)
    class Plain:
        path: str


    class NotCommon(Connector):
        name = "NOTCOMMON"
        params_schema = Plain


    class SecretTypo(Connector):
        name = "SECRETTYPO"
        secret_fields = frozenset({"pasword"})


    class Misnamed(Connector):
        name = "SOMETHING_ELSE"


    class Buggy(Connector):
        name = "BUGGY"
        runtime_class = "demo_connectors:BuggyRuntime"

        def check(self, source, project_dir, reporter):
            raise KeyError("oops")


    class Crashing(Connector):
        name = "CRASHING"
        runtime_class = "demo_connectors:BuggyRuntime"


    class BuggyRuntime(ConnectorRuntime):
        def read(self, params, request):
            raise ZeroDivisionError("division by zero in read")

        def test(self, params, project_dir):
            return {}["server"]
"""

ENTRY_POINTS = """
    [sqlflowc.connectors]
    lines = demo_connectors:Lines
    badschema = demo_connectors:BadSchema
    notcommon = demo_connectors:NotCommon
    secrettypo = demo_connectors:SecretTypo
    misnamed = demo_connectors:Misnamed
    buggy = demo_connectors:Buggy
    crashing = demo_connectors:Crashing
    raising = demo_raising:Connector
    missing = no_such_module:Connector
"""


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A distribution on sys.path declaring one working connector and many broken ones."""
    site = tmp_path / "site"
    write(site / "demo_connectors.py", PLUGINS)
    write(site / "demo_raising.py", "raise RuntimeError('cannot start without a licence')\n")
    info = site / "demo_connectors-1.0.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: demo-connectors\nVersion: 1.0\n")
    write(info / "entry_points.txt", ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    registry.clear_plugin_cache()
    yield tmp_path
    registry.clear_plugin_cache()
    for module in ("demo_connectors", "demo_raising"):
        sys.modules.pop(module, None)


BROKEN = {
    "BADSCHEMA": "`params_schema`: field `since` has an unsupported annotation: <class "
    "'datetime.date'>",
    "NOTCOMMON": "`params_schema` does not derive from sqlflowc.connectors.CommonParams",
    "SECRETTYPO": "`secret_fields` names `pasword`, which no parameter or export option is",
    "MISNAMED": "`name` is 'SOMETHING_ELSE' but the entry point registers it as `misnamed`",
    "RAISING": "failed to import: RuntimeError: cannot start without a licence",
    "MISSING": "failed to import: ModuleNotFoundError: No module named 'no_such_module'",
}


def test_list_shows_plugins_and_why_broken_ones_are_broken(plugins: Path) -> None:
    result = invoke("connect", "list")
    assert result.exit_code == 1  # a broken installation is worth noticing
    assert "LINES (plugin demo-connectors): JSON files" in result.stdout
    for name, reason in BROKEN.items():
        assert f"{name} (plugin demo-connectors)\n  broken: connector plugin `{name.lower()}`" in (
            result.stdout
        )
        assert reason in result.stdout
        assert f"error: connector plugin `{name.lower()}`" in result.stderr
    assert "Traceback" not in result.output
    listed = json.loads(invoke("connect", "list", "--format", "json").stdout)
    by_type = {t["type"]: t for t in listed}
    assert "error" not in by_type["LINES"] and by_type["LINES"]["builtin"] is False
    assert BROKEN["RAISING"] in by_type["RAISING"]["error"]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_plugin_is_sf0901_at_the_source(plugins: Path, name: str) -> None:
    pipeline = write(
        plugins / "p.sf", f"-- uses a plugin\nSOURCE s TYPE {name.lower()} PARAMS {{}};\n"
    )
    result = invoke("compile", str(pipeline))
    assert result.exit_code == 1
    assert f"p.sf:2:1: error[SF0901]: connector plugin `{name.lower()}` (" in result.stderr
    assert BROKEN[name] in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_a_plugin_whose_check_raises_is_sf0901(plugins: Path) -> None:
    pipeline = write(plugins / "p.sf", "SOURCE s TYPE BUGGY PARAMS {};\nLOAD t FROM s;\n")
    result = invoke("check", str(pipeline))
    assert result.exit_code == 1
    assert (
        "p.sf:1:1: error[SF0901]: connector plugin `buggy` failed checking source `s`: "
        "KeyError: 'oops'"
    ) in result.stderr
    assert "bug in the plugin" in result.stderr and "internal error" not in result.output


def test_a_plugin_whose_read_raises_fails_its_step(plugins: Path) -> None:
    pipeline = write(plugins / "p.sf", "SOURCE s TYPE CRASHING PARAMS {};\nLOAD t FROM s;\n")
    result = invoke("run", str(pipeline), "--db", str(plugins / "db.duckdb"))
    assert result.exit_code == 3, result.output
    assert "the CRASHING connector (a plugin: demo_connectors) failed: ZeroDivisionError: " in (
        result.output
    )
    assert "internal error" not in result.output


def test_a_plugin_whose_test_raises_fails_the_test(plugins: Path) -> None:
    write(plugins / "proj" / "profiles" / "dev.yml", "connections:\n  c: {type: crashing}\n")
    result = invoke("connect", "test", "c", "--project", str(plugins / "proj"))
    assert result.exit_code == 1
    assert result.stderr == (
        "error: connection `c` (CRASHING, profile dev): the CRASHING connector failed: "
        "KeyError: 'server'\n"
    )


# -- connect test ----------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path / "data" / "a.csv", "x\n1\n")
    write(tmp_path / "data" / "b.csv", "x\n2\n")
    write(
        tmp_path / "profiles" / "dev.yml",
        """
        connections:
          landing: {type: csv, path: "${LANDING|data}"}
          nowhere: {type: csv, path: missing/, retries: 0}
          typo: {type: cvs, path: data}
          badparam: {type: csv, path: data, delimeter: ";"}
          leaky: {type: csv, path: "vault/${LANDING_TOKEN}/x.csv"}
        """,
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_profile_connection(project: Path) -> None:
    result = invoke("connect", "test", "landing")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ok: connection `landing` (CSV, profile dev)\n"
        f"  server: local CSV files: {project / 'data' / '*.csv'} (2 files)\n"
        "  objects:\n    data/a.csv\n    data/b.csv\n"
    )
    as_json = json.loads(invoke("connect", "test", "LANDING", "--format", "json").stdout)
    assert as_json == {
        "name": "landing",
        "type": "CSV",
        "ok": True,
        "server": f"local CSV files: {project / 'data' / '*.csv'} (2 files)",
        "objects": ["data/a.csv", "data/b.csv"],
        "more": False,
    }
    # ${VAR} from --var (or the environment), as when the pipeline uses the connection
    moved = invoke("connect", "test", "landing", "--var", "LANDING=data/a.csv")
    assert "(1 file)" in moved.stdout


def test_a_failing_connection_exits_1_with_the_reason(project: Path) -> None:
    result = invoke("connect", "test", "nowhere")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: connection `nowhere` (CSV, profile dev): not found: {project / 'missing'}\n"
    )
    as_json = invoke("connect", "test", "nowhere", "--format", "json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["ok"] is False


def test_unknown_connections_types_and_parameters(project: Path) -> None:
    unknown = invoke("connect", "test", "landin")
    assert unknown.exit_code == 1
    assert "error[SF0907]: connection `landin` is not defined in profile `dev`" in unknown.stderr
    assert "did you mean `landing`?" in unknown.stderr
    typo = invoke("connect", "test", "typo")
    assert typo.exit_code == 1
    assert "profiles/dev.yml:5:3: " in typo.stderr  # at the connection in the profile
    assert "error[SF0901]: unknown connector type `cvs` for connection `typo`" in typo.stderr
    bad = invoke("connect", "test", "badparam")
    assert bad.exit_code == 1
    assert "invalid parameters for CSV: `delimeter` is not an accepted key" in bad.stderr


def test_a_secret_variable_in_a_connection_is_masked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDING_TOKEN", "Zq8wXk3vR")
    result = invoke("connect", "test", "leaky")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: connection `leaky` (CSV, profile dev): not found: {project}/vault/***/x.csv\n"
    )


def test_a_source_of_a_pipeline(project: Path) -> None:
    write(
        project / "p.sf",
        """
        SOURCE good TYPE CSV PARAMS {"path": "data/*.csv", "delimiter": "${sep|,}"};
        LOAD good FROM good;
        """,
    )
    good = invoke("connect", "test", "good", "--pipeline", "p.sf")
    assert good.exit_code == 0, good.output
    assert good.stdout.startswith("ok: source `good` (CSV, p.sf)\n")
    assert "(2 files)" in good.stdout
    missing = invoke("connect", "test", "god", "--pipeline", "p.sf")
    assert missing.exit_code == 1
    assert "pipeline p.sf has no SOURCE `god`" in missing.stderr
    assert "did you mean `good`?" in missing.stderr
