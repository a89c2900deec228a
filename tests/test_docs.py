"""README.md and docs/*.md tell the truth: their pipelines compile and run, their commands work.

Conventions in the Markdown files (see also docs/language.md):
- A ```sqlflow fence holds a complete pipeline. It must parse, compile and run (on an in-memory
  database) in a scratch project that has the data files of the examples (`doc_project`).
- ```text holds fragments, grammar summaries and output; ```console holds shell sessions;
  ```sql is not used (it would be ambiguous) and fails `test_no_sql_fences`.
- A ```sqlflow fence after `<!-- golden: case -->` (docs/diagnostics.md) is the text of a golden
  case, checked by tests/test_goldens.py, and skipped here.
- An HTML comment on the line before a ```sqlflow fence changes the check; its words are
  `error=SFxxxx` (compiling must fail with that code), `parse-only`, `compile-only`,
  `file=pipelines/x.sf` (the block is that file of the scratch project, e.g. for an INCLUDE; it
  is only parsed on its own; also for a ```python block such as `file=python_udfs/text.py`),
  and `--var name=value` (variables, as on the command line):
  `<!-- doc-test: error=SF0202 --var "n=1; DROP TABLE orders" -->`.
- README's "Tour" section is run as written: every `$ command` of its ```console blocks runs in
  bash, in order, in a scratch directory, with the installed `sqlflowc` first on PATH. The exit
  status must be 0, or N when the line ends in `# exit N`. The lines shown after a command must
  appear in its output in that order; `...` stands for any text, a line `...` for skipped lines,
  and durations (`6 ms`, `1.20 s`) match any duration. A ```console block elsewhere that follows
  `<!-- doc-test: init-demo -->` is run the same way, in a project made by `sqlflowc init demo`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner

from sqlflowc.api import compile_source, run
from sqlflowc.cli import cli
from sqlflowc.diagnostics import CompileError, Reporter, render_text
from sqlflowc.source import SourceMap
from sqlflowc.syntax.lower import parse_pipeline

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [README, *DOCS]

_FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*(doc-test|golden):(.*?)-->\s*$")

# Blocks of files this test does not own that are not complete pipelines, by their first line.
# Each should get a `<!-- doc-test: parse-only -->` in its file, and leave this table.
PARSE_ONLY = {
    ("diagnostics.md", "-- include/cycle_a.sf"): "two files of an include cycle in one block",
}


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    directive: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with the doc-test directive before each."""
    out: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        fence, info = m.groups()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append(lines[i])
            i += 1
        directive: tuple[str, ...] = ()
        prev = lines[start - 1] if start > 0 else ""
        d = _DIRECTIVE.match(prev.strip())
        if d is not None and d.group(1) == "golden":
            directive = ("golden",)
        elif d is not None:
            directive = tuple(shlex.split(d.group(2)))
        if body and (path.name, body[0]) in PARSE_ONLY:
            directive = (*directive, "parse-only")
        out.append(Block(path, start + 1, info, "\n".join(body) + "\n", directive))
        i += 1
    return out


ALL_BLOCKS = [b for path in MARKDOWN for b in blocks(path)]
PIPELINES = [b for b in ALL_BLOCKS if b.info == "sqlflow" and b.directive != ("golden",)]


@dataclass
class Check:
    """What a block's directive asks for."""

    error: str | None = None
    parse_only: bool = False
    compile_only: bool = False
    file: str | None = None
    variables: dict[str, object] = field(default_factory=dict)


def check_of(block: Block) -> Check:
    check = Check()
    words = list(block.directive)
    while words:
        word = words.pop(0)
        if word.startswith("error="):
            check.error = word.removeprefix("error=")
        elif word == "parse-only":
            check.parse_only = True
        elif word == "compile-only":
            check.compile_only = True
        elif word.startswith("file="):
            check.file = word.removeprefix("file=")
        elif word == "--var" and words:
            name, _, value = words.pop(0).partition("=")
            try:
                check.variables[name] = json.loads(value)
            except json.JSONDecodeError:
                check.variables[name] = value
        else:
            raise AssertionError(f"{block.id}: unknown doc-test directive word {word!r}")
    return check


# ------------------------------------------------------------------ the scratch project


@pytest.fixture(scope="module")
def doc_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the examples' data, the extra files the docs read, and a dev profile."""
    project = tmp_path_factory.mktemp("docs") / "project"
    data = project / "data"
    data.mkdir(parents=True)
    for csv in [
        *(ROOT / "examples" / "quickstart" / "data").glob("*.csv"),
        *(ROOT / "examples" / "conditional_pipelines" / "data").glob("*.csv"),
    ]:
        shutil.copy(csv, data / csv.name)
    (data / "people.txt").write_text("1;Ada;2024-01-05\n2;Grace;2024-02-11\n", encoding="utf-8")
    (data / "events.json").write_text(
        '{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view"}\n', encoding="utf-8"
    )
    with duckdb.connect() as con:
        orders = str(data / "orders.csv").replace("'", "''")
        target = str(data / "orders.parquet").replace("'", "''")
        con.execute(f"COPY (SELECT * FROM read_csv('{orders}')) TO '{target}' (FORMAT parquet)")
    (project / "profiles").mkdir()
    (project / "profiles" / "dev.yml").write_text(
        "# The profile docs/language.md shows for SOURCE ... FROM.\n"
        "engine: {type: duckdb, path: ':memory:'}\n"
        "connections:\n"
        "  orders_files:\n"
        "    type: csv\n"
        "    path: data/orders.csv\n",
        encoding="utf-8",
    )
    (project / "pipelines").mkdir()
    for block in ALL_BLOCKS:
        if not block.directive or block.directive == ("golden",) or block.info == "console":
            continue
        name = check_of(block).file
        if name is not None:
            path = project / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text, encoding="utf-8")
    return project


# ------------------------------------------------------------------ the pipelines in the docs


def test_docs_have_pipelines() -> None:
    per_file = {path.name: 0 for path in DOCS}
    for block in PIPELINES:
        if block.path in DOCS:
            per_file[block.path.name] += 1
    assert any(b.directive == ("golden",) for b in ALL_BLOCKS)
    assert per_file.get("language.md", 0) >= 10, per_file
    assert per_file.get("conditionals.md", 0) >= 5, per_file


def test_no_sql_fences() -> None:
    sql = [b.id for b in ALL_BLOCKS if b.info.lower() == "sql"]
    assert not sql, "use ```sqlflow for a complete pipeline, ```text for a fragment: " + str(sql)


@pytest.mark.parametrize("block", PIPELINES, ids=[b.id for b in PIPELINES])
def test_pipeline_block(block: Block, doc_project: Path) -> None:
    check = check_of(block)
    sources = SourceMap()
    reporter = Reporter()
    file_id = sources.add(block.id, block.text)
    parsed = parse_pipeline(block.text, file_id, reporter)
    if check.error is not None and check.error.startswith("SF00"):
        assert parsed is None or reporter.has_errors, f"{block.id}: expected {check.error}"
    else:
        assert parsed is not None and not reporter.has_errors, render_text(
            reporter.diagnostics, sources
        )
    if check.parse_only or check.file is not None:
        return
    path = doc_project / "pipelines" / "doc.sf"
    if check.error is not None:
        with pytest.raises(CompileError) as err:
            compile_source(
                block.text,
                str(path),
                project_dir=doc_project,
                cli_vars=check.variables,
                environ={},
            )
        codes = [d.code.value for d in err.value.diagnostics if d.is_error]
        assert check.error in codes, f"{block.id}: expected {check.error}, got {codes}"
        return
    try:
        comp = compile_source(
            block.text, str(path), project_dir=doc_project, cli_vars=check.variables, environ={}
        )
    except CompileError as err:
        pytest.fail(f"{block.id}:\n{render_text(err.diagnostics, err.sources or sources)}")
    if check.compile_only:
        return
    result = run(comp.plan, database=":memory:")
    assert result.ok, f"{block.id}: {[f.message for f in result.failures]}"


# ------------------------------------------------------------------ README


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _code_blocks(markdown: str, info: str) -> list[str]:
    return re.findall(rf"^```{info}\n(.*?)^```$", markdown, flags=re.S | re.M)


def test_readme_setup_commands() -> None:
    setup = _section(README.read_text(encoding="utf-8"), "Set-up")
    assert _code_blocks(setup, "sh") == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && "
        ".venv/bin/sqlflowc run examples/quickstart/pipelines/quickstart.sf\n",
        "python3 -m venv .venv && .venv/bin/pip install nox && .venv/bin/nox -s tests slow spark\n",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"/nox -s tests slow spark\s*$", ci, flags=re.M), (
        "CI must run what README gives"
    )
    assert (ROOT / "examples" / "quickstart" / "pipelines" / "quickstart.sf").is_file()


def test_readme_lists_every_nox_session() -> None:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    sessions = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).startswith("nox.session") for d in node.decorator_list)
    }
    table = _section(README.read_text(encoding="utf-8"), "Development sessions")
    listed = set(re.findall(r"^\| `(\w+)`", table, flags=re.M))
    assert listed == sessions


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


@pytest.mark.parametrize("path", MARKDOWN, ids=[p.name for p in MARKDOWN])
def test_links_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)
    for target in _LINK.findall(prose):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name}: broken link {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                f"{path.name}: no heading for #{anchor} in {linked.name}"
            )


def test_cli_reference_names_every_option() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = list(cli.commands.items())
    while commands:
        name, command = commands.pop(0)
        if isinstance(command, click.Group):
            commands += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
            continue
        assert f"## `sqlflowc {name}" in reference, f"docs/cli.md has no section for {name}"
        for param in command.params:
            for opt in (*param.opts, *param.secondary_opts):
                if opt.startswith("-"):
                    assert f"`{opt}" in reference, f"docs/cli.md does not mention {name} {opt}"
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert "--debug" in help_text and "`--debug`" in reference


def test_cli_reference_udf_info_names_work_in_the_example() -> None:
    """The names docs/cli.md gives `udf info` are those of examples/python_udfs/, and each works."""
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = reference[reference.index("## `sqlflowc udf info`") :]
    shown = re.search(r"in `examples/python_udfs/`: (.*?)\)\.", section, re.DOTALL)
    assert shown is not None
    names = re.findall(r"`([\w.]+)`", shown.group(1))
    assert len(names) == 3
    project = ROOT / "examples" / "python_udfs"
    for name in names:
        result = CliRunner().invoke(cli, ["udf", "info", name, "--project", str(project)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("python_udfs.text.clean_name  (scalar UDF)")
    unknown = CliRunner().invoke(cli, ["udf", "info", "initials", "--project", str(project)])
    assert unknown.exit_code == 1 and "SF0801" in unknown.output


# ------------------------------------------------------------------ the README tour


@dataclass(frozen=True)
class Command:
    shell: str
    status: int
    expected: tuple[str, ...]


_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
_DURATION = re.compile(r"\b\d+(?:\.\d+)? m?s\b")


def console_commands(block: str) -> list[Command]:
    """The `$ command` lines of a ```console block, each with its exit status and shown output."""
    commands: list[Command] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        assert line.startswith("$ "), f"output before any command: {line!r}"
        shell = line[2:]
        status = 0
        m = _EXIT.search(shell)
        if m is not None:
            status = int(m.group(1))
            shell = shell[: m.start()]
        i += 1
        heredoc = _HEREDOC.search(shell)
        if heredoc is not None:
            body: list[str] = []
            while lines[i] != heredoc.group(1):
                body.append(lines[i])
                i += 1
            shell = "\n".join([shell, *body, lines[i]])
            i += 1
        expected: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        commands.append(Command(shell, status, tuple(expected)))
    return commands


def tour_commands() -> list[Command]:
    tour = _section(README.read_text(encoding="utf-8"), "Tour")
    return [c for block in _code_blocks(tour, "console") for c in console_commands(block)]


def _pattern(shown: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in _DURATION.sub("\0", shown.rstrip()).split("...")]
    regex = ".*".join(parts).replace("\0", r"\d+(?:\.\d+)? m?s")
    return re.compile(regex)


def _missing_lines(expected: tuple[str, ...], output: str) -> list[str]:
    """The shown lines that do not appear, in order, in the output."""
    actual = [line.rstrip() for line in output.splitlines()]
    pos = 0
    missing: list[str] = []
    for shown in expected:
        if shown.strip() == "...":
            continue
        pattern = _pattern(shown)
        for j in range(pos, len(actual)):
            if pattern.fullmatch(actual[j]):
                pos = j + 1
                break
        else:
            missing.append(shown)
    return missing


def _sqlflowc_bin() -> Path:
    script = Path(sys.executable).parent / "sqlflowc"
    if not script.exists():
        pytest.skip(f"no sqlflowc console script next to {sys.executable}")
    return script.parent


def run_session(commands: list[Command], cwd: Path) -> None:
    """Run commands in bash as a user would (`cd` changes the directory of the next ones)."""
    bin_dir = _sqlflowc_bin()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    for command in commands:
        if command.shell.startswith("cd "):
            cwd = cwd / command.shell[3:].strip()
            assert cwd.is_dir(), command.shell
            continue
        done = subprocess.run(
            ["bash", "-c", command.shell],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        assert done.returncode == command.status, f"$ {command.shell}\n{done.stdout}"
        missing = _missing_lines(command.expected, done.stdout)
        assert not missing, f"$ {command.shell}\nnot in the output: {missing}\n{done.stdout}"


@pytest.mark.slow
def test_readme_tour(tmp_path: Path) -> None:
    commands = tour_commands()
    assert len(commands) >= 10
    run_session(commands, tmp_path)


SESSIONS = [b for b in ALL_BLOCKS if b.info == "console" and b.directive[:1] == ("init-demo",)]


@pytest.mark.slow
@pytest.mark.parametrize("block", SESSIONS, ids=[b.id for b in SESSIONS])
def test_console_session(block: Block, tmp_path: Path) -> None:
    """A ```console block marked `<!-- doc-test: init-demo -->`, run in `sqlflowc init demo`."""
    setup = [Command("sqlflowc init demo", 0, ()), Command("cd demo", 0, ())]
    run_session([*setup, *console_commands(block.text)], tmp_path)


def test_there_are_sessions() -> None:
    assert any(b.path.name == "cli.md" for b in SESSIONS)
