"""docs/connectors/ tells the truth: its links resolve, the code plugins.md quotes is the example
plugin's code, the registry it shows is pyproject.toml's, and errors.md covers every connector
diagnostic code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sqlflowc.connectors.base import Connector
from sqlflowc.diagnostics import Code

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "connectors"
PAGES = sorted(DOCS.glob("*.md"))
PLUGIN = ROOT / "examples" / "connectors" / "plugin"

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _blocks(page: Path, lang: str) -> list[str]:
    return [body for info, body in _FENCE.findall(page.read_text("utf-8")) if info == lang]


def test_the_pages_exist() -> None:
    assert {"README.md", "plugins.md", "errors.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_resolve(page: Path) -> None:
    prose = _FENCE.sub("", page.read_text(encoding="utf-8"))
    links = _LINK.findall(prose)
    assert links, f"{page.name} links nowhere"
    for target in links:
        if target.startswith(("http://", "https://")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        assert linked.exists(), f"{page.name}: broken link {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                f"{page.name}: no heading for #{anchor} in {linked.name}"
            )


def test_plugins_md_quotes_the_example_plugin() -> None:
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((PLUGIN / "src").rglob("*.py"))
    )
    quoted = _blocks(DOCS / "plugins.md", "python")
    assert len(quoted) >= 2
    for block in quoted:
        for line in block.splitlines():
            text = line.split("  #")[0].strip()
            if text and "..." not in text:
                assert text in source, f"plugins.md quotes a line the example lacks: {text!r}"
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))
    [(name, value)] = project["project"]["entry-points"]["sqlflowc.connectors"].items()
    assert f'{name} = "{value}"' in (DOCS / "plugins.md").read_text(encoding="utf-8")


def test_readme_shows_the_registered_builtins_and_the_interface() -> None:
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = ours["project"]["entry-points"]["sqlflowc.connectors"]
    [shown] = [b for b in _blocks(DOCS / "README.md", "text") if "entry-points" in b]
    listed = dict(re.findall(r'^(\w+) = "([^"]+)"$', shown, flags=re.M))
    assert listed == declared
    members = [n for n in vars(Connector) if not n.startswith("_") and n != "runtime"]
    for member in members:
        assert f"`{member}" in readme, f"docs/connectors/README.md does not describe {member}"


CONNECTOR_CODES = {
    Code.UNKNOWN_CONNECTOR,
    Code.BAD_CONNECTOR_PARAM,
    Code.INPUT_NOT_FOUND,
    Code.BAD_EXPORT,
    Code.STEP_FAILED,
    Code.PROFILE_ERROR,
    Code.UNKNOWN_CONNECTION,
    Code.EXPORT_FAILED,
    Code.OBSOLETE_PARAM,
    Code.CONNECTOR_WARNING,
    Code.SCHEMA_DRIFT,
}


def test_errors_md_covers_every_connector_code() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    headed = set(re.findall(r"^###.*\b(SF\d{4})\b", text, flags=re.M))
    assert headed == {c.value for c in CONNECTOR_CODES}
    known = {c.value for c in Code}
    assert set(re.findall(r"\bSF\d{4}\b", text)) <= known | {"SF07"}
