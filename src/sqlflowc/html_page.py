"""The frame of sqlflowc's self-contained HTML pages (`sqlflowc graph --format html`,
`sqlflowc report`): the document, the style both share and the style of a drawn plan. Nothing
is loaded from elsewhere: the style is inline and every font a local one.

>>> page("a < b", "h2 { color: red; }", "<p>hi</p>").splitlines()[3]
'<title>a &lt; b</title>'
"""

from __future__ import annotations

import html

__all__ = ["DAG_CSS", "KIND_SIZE", "MONO", "TARGET_SIZE", "page"]

MONO = '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, "Courier New", monospace'
KIND_SIZE, TARGET_SIZE = 11, 13  # px: a plan box's two lines

_BASE_CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222;
  background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.canvas { overflow: auto; border: 1px solid #ddd; border-radius: 6px; background: #fcfcfc;
  display: inline-block; max-width: 100%; }
svg { display: block; }"""

# A plan drawn by `graph_html.dag_svg`: its edges and boxes.
DAG_CSS = f"""\
.edge {{ fill: none; stroke: #8a8a8a; stroke-width: 1.4; }}
.node rect {{ stroke: #666; stroke-width: 1; }}
.node text {{ font-family: {MONO}; text-anchor: middle; }}
.kind {{ font-size: {KIND_SIZE}px; fill: #555; }}
.target {{ font-size: {TARGET_SIZE}px; font-weight: 600; fill: #111; }}"""


def page(title: str, css: str, body: str) -> str:
    """A whole page: `title` (text, escaped here), the shared style then `css`, and `body`
    (HTML)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{_BASE_CSS}
{css.strip()}
</style></head><body>
{body.strip()}
</body></html>
"""
