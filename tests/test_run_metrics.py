"""Metrics of a run: `run --metrics-out FILE.prom` (checked with prometheus_client's parser) or
`.jsonl`; `runs --compare` / `status --compare` against the median of earlier successful runs;
`report` writes one self-contained HTML page (rendered in headless Chromium when installed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import sqlflowc
from sqlflowc.run_compare import compare
from sqlflowc.runtime.run_records import RunInfo, StepInfo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PIPELINE = """\
CREATE TABLE nums AS SELECT range AS n FROM range(${rows|10});
CREATE TABLE evens AS SELECT n FROM nums WHERE n % 2 = 0;
CREATE TABLE odds AS SELECT n FROM nums WHERE n % 2 = 1;
CREATE TABLE checked AS SELECT count(*) / CAST('${divisor|1}' AS INT) AS c FROM evens;
EXPORT SELECT * FROM odds TO "target/odds.csv" TYPE CSV OPTIONS {"header": true};
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "sqlflow.yml").write_text("name: metrics\n", encoding="utf-8")
    (tmp_path / "pipelines" / "p.sf").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, parsed by prometheus_client."""
    out = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge" and family.documentation
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_out_prometheus_text(project: Path) -> None:
    result = sqlflowc("run", "pipelines/p.sf", "--metrics-out", "target/metrics/p.prom")
    assert result.exit_code == 0, result.output
    text = (project / "target" / "metrics" / "p.prom").read_text()
    got = samples(text)
    p = ("pipeline", "pipelines/p.sf")

    def step(name: str, step_id: str) -> float:
        return got[(name, (p, ("step", step_id)))]

    assert got[("sqlflowc_run_success", (p,))] == 1
    assert got[("sqlflowc_run_steps", (p, ("state", "succeeded")))] == 5
    assert got[("sqlflowc_run_duration_seconds", (p,))] > 0
    assert got[("sqlflowc_run_peak_memory_bytes", (p,))] > 10 * 2**20
    assert step("sqlflowc_step_rows_out", "table_evens") == 5
    assert step("sqlflowc_step_rows_in", "export_odds") == 5
    size = (project / "target" / "odds.csv").stat().st_size
    assert step("sqlflowc_step_bytes_written", "export_odds") == size
    assert step("sqlflowc_step_retries", "table_nums") == 0
    assert step("sqlflowc_step_duration_seconds", "table_checked") > 0
    info = [k for k in got if k[0] == "sqlflowc_run_info"]
    assert len(info) == 1 and ("status", "succeeded") in info[0][1]
    # A failed run: the failed step has a duration but no rows; the skipped none at all.
    failed = sqlflowc(
        "run",
        "pipelines/p.sf",
        "--var",
        "divisor=x",
        "--metrics-out",
        "target/metrics/p.prom",
        "--jobs",
        "1",
    )
    assert failed.exit_code == 3
    got = samples((project / "target" / "metrics" / "p.prom").read_text())
    assert got[("sqlflowc_run_success", (p,))] == 0
    assert got[("sqlflowc_run_steps", (p, ("state", "failed")))] == 1
    assert ("sqlflowc_step_duration_seconds", (p, ("step", "table_checked"))) in got
    assert ("sqlflowc_step_rows_out", (p, ("step", "table_checked"))) not in got
    assert not any(k[1][-1] == ("step", "export_odds") for k in got)


def test_metrics_out_json_lines(project: Path) -> None:
    result = sqlflowc("run", "pipelines/p.sf", "--metrics-out", "m.jsonl", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    lines = [json.loads(x) for x in (project / "m.jsonl").read_text().splitlines()]
    assert lines[0]["type"] == "run" and lines[0]["run_id"] == record["run_id"]
    assert lines[0]["steps"]["succeeded"] == 5
    by_step = {x["step"]: x for x in lines[1:]}
    assert list(by_step) == [s["id"] for s in record["steps"]]
    for step in record["steps"]:
        assert by_step[step["id"]]["rows_out"] == step["rows"]
        assert by_step[step["id"]]["duration_seconds"] == pytest.approx(step["duration_ms"] / 1000)


def test_metrics_out_needs_a_known_suffix(project: Path) -> None:
    result = sqlflowc("run", "pipelines/p.sf", "--metrics-out", "m.txt")
    assert result.exit_code == 2
    assert "ends in neither .prom" in result.output


def test_runs_compare_flags_rows_that_jumped(project: Path) -> None:
    for _ in range(3):
        assert sqlflowc("run", "pipelines/p.sf").exit_code == 0
    assert sqlflowc("run", "pipelines/p.sf", "--var", "rows=1000").exit_code == 0
    shown = sqlflowc("runs", "--compare")
    assert shown.exit_code == 0, shown.output
    assert "against the median of 3 earlier successful runs" in shown.output
    line = next(x for x in shown.output.splitlines() if x.strip().startswith("table_evens"))
    # under load a step may be flagged "slower" as well; the rows are what this test pins
    assert re.search(r"\b500\s+5\s+(slower, )?rows jumped$", line), line
    data = json.loads(sqlflowc("status", "--compare", "--format", "json").output)
    evens = next(s for s in data["steps"] if s["step"] == "table_evens")
    assert "rows jumped" in evens["flags"] and evens["usual_rows"] == 5
    assert evens["rows"] == 500
    assert len(data["baseline"]) == 3
    first = sqlflowc("runs", "--format", "json").output
    oldest = json.loads(first)[-1]["run_id"]
    none = sqlflowc("status", oldest, "--compare")
    assert "there is none yet, nothing to compare" in none.output


def _run(run_id: str, at: str, durations: dict[str, float], status: str = "succeeded") -> RunInfo:
    steps = [
        StepInfo(id=s, kind="create_table", target=s, depends_on=[], state="succeeded",
                 attempts=1, duration_ms=ms, rows=10)
        for s, ms in durations.items()
    ]  # fmt: skip
    return RunInfo(
        run_id=run_id,
        pipeline="p.sf",
        project_dir="/p",
        database="db",
        profile=None,
        fingerprint="f",
        variables={},
        pid=None,
        started_at=at,
        status=status,
        steps=steps,
    )


def test_compare_flags_slower_steps_against_the_median() -> None:
    history = [
        _run(f"r{i}", f"2026-01-0{i}T00:00:00", {"a": ms, "b": 5.0})
        for i, ms in enumerate([100.0, 110.0, 900.0, 105.0], start=1)
    ]
    latest = _run("r9", "2026-01-09T00:00:00", {"a": 200.0, "b": 9.0, "c": 1.0})
    result = compare(latest, history)
    by = {s.step: s for s in result.steps}
    assert by["a"].usual_ms == 107.5 and by["a"].flags == ("slower",)  # one outlier ignored
    assert by["b"].flags == ()  # 1.8x, but only 4 ms more: jitter
    assert by["c"].flags == ("new",)
    assert [s.step for s in result.flagged] == ["a"]


def _render(project: Path) -> str:
    assert sqlflowc("run", "pipelines/p.sf").exit_code == 0
    assert sqlflowc("run", "pipelines/p.sf", "--var", "divisor=x", "--jobs", "1").exit_code == 3
    result = sqlflowc("report", "-o", "target/report.html")
    assert result.exit_code == 0, result.output
    return (project / "target" / "report.html").read_text()


def test_report_is_one_self_contained_page(project: Path) -> None:
    page = _render(project)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    nodes = re.findall(r'<g class="node state-(\w+)" data-step="([^"]+)"', page)
    assert {step: state for state, step in nodes} == {
        "table_nums": "succeeded",
        "table_evens": "succeeded",
        "table_odds": "succeeded",
        "table_checked": "failed",
        "export_odds": "skipped",
    }
    lanes = re.findall(r'<g class="lane" data-step="([^"]+)">', page)
    assert lanes == ["table_nums", "table_evens", "table_odds", "table_checked"]
    assert "Conversion Error" in page and "at most 1 step at once" in page
    record = re.search(r'<script type="application/json" id="run-record">(.*?)</script>', page)
    assert record is not None and json.loads(record.group(1))["status"] == "failed"


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
def test_report_renders_in_chromium(project: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    _render(project)
    page = project / "target" / "report.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "table_checked" in dom and "<svg" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1300,1200", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000  # a page was drawn, not a blank one


def test_compare_shows_a_resumed_runs_earlier_steps_as_done_earlier(project: Path) -> None:
    """A step a resumed run took from the run it resumed did not run: its DURATION cell says so
    (it used to say `succeeded`, in the duration column)."""
    assert sqlflowc("run", "pipelines/p.sf").exit_code == 0
    failed = sqlflowc("run", "pipelines/p.sf", "--var", "divisor=x", "--jobs", "1")
    assert failed.exit_code == 3
    resumed = sqlflowc("run", "pipelines/p.sf", "--resume", "--force")
    assert resumed.exit_code == 0, resumed.output
    shown = sqlflowc("runs", "--compare")
    assert shown.exit_code == 0, shown.output
    lines = {x.split()[0]: x for x in shown.output.splitlines()[2:-1]}
    # STEP, DURATION, the usual duration, CHANGE and ROWS (none: it did not run), usual rows
    assert re.fullmatch(r"\s*table_nums\s+done earlier\s+\S+ m?s\s+-\s+-\s+10", lines["table_nums"])
    assert "done earlier" not in lines["table_checked"]
    assert "succeeded" not in shown.output.split("\n", 1)[1]
    data = json.loads(sqlflowc("runs", "--compare", "--format", "json").output)
    nums = next(s for s in data["steps"] if s["step"] == "table_nums")
    assert nums["reused_from"] and nums["duration_ms"] is None


def test_metrics_out_that_cannot_be_written_names_the_file(project: Path) -> None:
    """SF0913 names the file given, not the temporary file beside it; the run is reported
    first (its summary line), and the status is 1."""
    (project / "blocker").write_text("a file, not a directory", encoding="utf-8")
    result = sqlflowc("run", "pipelines/p.sf", "--metrics-out", "blocker/m.prom")
    assert result.exit_code == 1, result.output
    assert re.search(r"^5 ok in ", result.output, re.MULTILINE), result.output
    assert "error[SF0913]: cannot write blocker/m.prom: " in result.output
    assert ".tmp" not in result.output and "Traceback" not in result.output


def test_report_that_cannot_be_written_names_the_file(project: Path) -> None:
    assert sqlflowc("run", "pipelines/p.sf").exit_code == 0
    (project / "blocker").write_text("a file, not a directory", encoding="utf-8")
    result = sqlflowc("report", "-o", "blocker/report.html")
    assert result.exit_code == 1, result.output
    assert "error[SF0913]: cannot write blocker/report.html: " in result.output
    assert "1 error; nothing was written." in result.output
    assert ".tmp" not in result.output and "Traceback" not in result.output
