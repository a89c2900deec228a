"""Replace every `INCLUDE "path" [AS alias];` by the statements of the file it names.

Requires: a parsed file (`ast.Pipeline` straight from `parse_pipeline`).
Ensures: no `ast.Include` anywhere, also inside IF branches — an included file is read and parsed
even in a branch that will turn out inactive, so its syntax errors are always reported.

- The path is a literal (no `${...}`), relative to the including file's path in the source map.
- The included file is read as UTF-8 (a leading byte-order mark is dropped), registered in
  `ctx.sources` and parsed with `parse_pipeline`: its diagnostics carry its own spans.
- A path not ending in `.sf` is `INCLUDE_NOT_PIPELINE` and the file is not read, so no
  diagnostic can show a line of it (`INCLUDE "/etc/shadow"`); a `.py` path is a warning
  (`INCLUDE_PYTHON`: UDF modules load by themselves).
- A missing or unreadable file is `INCLUDE_NOT_FOUND` at the path literal, naming the path
  resolved; an include cycle is `INCLUDE_CYCLE` showing the chain `a.sf → b.sf → a.sf`.
  Including the same file twice (not from inside itself) is fine; it is parsed once.
- Limits (`limits.py`): INCLUDEs nest at most `MAX_INCLUDE_DEPTH` files deep and a compilation
  expands at most `MAX_INCLUDES` of them (a file included twice is expanded twice); past either,
  `INCLUDE_LIMIT` once, at the INCLUDE, and nothing more is expanded. A file larger than
  `MAX_FILE_BYTES` is `INCLUDE_NOT_FOUND` (never read whole).
- `AS alias` labels the included file: the pipeline returned has `labels[file_id] = alias`. A
  file included without an alias from a labelled file inherits that label, so nested includes
  stay in their group.

>>> import pathlib, tempfile
>>> from sqlflowc.api import compile_context, parse
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "part.sf").write_text("CREATE TABLE t AS SELECT 1;")
>>> ctx = compile_context(project_dir=root)
>>> main = parse('INCLUDE "part.sf" AS part;', str(root / "main.sf"), sources=ctx.sources)
>>> expanded = expand_includes(main, ctx)
>>> [type(s).__name__ for s in expanded.statements], expanded.labels
(['CreateTable'], {1: 'part'})
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import assert_never

from sqlflowc.diagnostics import Code, Diagnostic
from sqlflowc.ir import ast
from sqlflowc.limits import MAX_INCLUDE_DEPTH, MAX_INCLUDES, FileTooLarge, read_bounded
from sqlflowc.passes.context import PassContext
from sqlflowc.source import Span


def expand_includes(pipeline: ast.Pipeline, ctx: PassContext) -> ast.Pipeline:
    """The pipeline with every INCLUDE replaced by the included file's statements."""
    root = ctx.sources[pipeline.file_id].path
    expander = _Expander(ctx)
    frame = _Frame(key=_key(root), shown=root, file_id=pipeline.file_id, site=None)
    statements = expander.block(pipeline.statements, (frame,))
    return replace(pipeline, statements=statements, labels={**pipeline.labels, **expander.labels})


@dataclass(frozen=True, slots=True)
class _Frame:
    """One file on the include stack, with the INCLUDE that brought it in."""

    key: str
    shown: str
    file_id: int
    site: Span | None


@dataclass(slots=True)
class _Expander:
    ctx: PassContext
    parsed: dict[str, tuple[int, ast.Pipeline | None]] = field(default_factory=dict)
    reported: set[Span] = field(default_factory=set)
    expanded: int = 0
    over_limit: bool = False
    labels: dict[int, str] = field(default_factory=dict)

    def block(
        self, statements: tuple[ast.Statement, ...], stack: tuple[_Frame, ...]
    ) -> tuple[ast.Statement, ...]:
        out: list[ast.Statement] = []
        for stmt in statements:
            match stmt:
                case ast.Include():
                    out.extend(self.include(stmt, stack))
                case ast.If():
                    out.append(self.fold_if(stmt, stack))
                case (
                    ast.SourceDecl()
                    | ast.SourceFromProfile()
                    | ast.Load()
                    | ast.CreateTable()
                    | ast.CreateView()
                    | ast.Export()
                    | ast.Set()
                    | ast.SqlStatement()
                ):
                    out.append(stmt)
                case _:
                    assert_never(stmt)
        return tuple(out)

    def fold_if(self, stmt: ast.If, stack: tuple[_Frame, ...]) -> ast.If:
        branches = tuple(replace(b, body=self.block(b.body, stack)) for b in stmt.branches)
        else_body = None if stmt.else_body is None else self.block(stmt.else_body, stack)
        return replace(stmt, branches=branches, else_body=else_body)

    def include(self, stmt: ast.Include, stack: tuple[_Frame, ...]) -> tuple[ast.Statement, ...]:
        literal = stmt.path
        written = str(literal.value)
        reporter = self.ctx.reporter
        if "${" in written:
            reporter.error(
                Code.BAD_VARIABLE_REF,
                "include paths cannot use variables",
                literal.span,
                label="a literal path is expected here",
                help="INCLUDE is expanded before variables are known; use an IF to choose "
                "between INCLUDEs of literal paths",
            )
            return ()
        if "\0" in written:
            reporter.error(
                Code.INCLUDE_NOT_FOUND,
                "an include path cannot contain a NUL character (`\\0`)",
                literal.span,
                label="no file has this name",
            )
            return ()
        if written.lower().endswith(".py"):
            # The earlier releases' docs showed `INCLUDE "python_udfs/x.py";`: UDF modules are
            # discovered from python_udfs/ anyway, so the INCLUDE has nothing to do.
            self.ctx.reporter.warning(
                Code.INCLUDE_PYTHON,
                "INCLUDE of a Python module has no effect: UDF modules in python_udfs/ are "
                "loaded automatically",
                literal.span,
                label="skipped",
                help="remove this INCLUDE",
            )
            return ()
        if len(stack) > MAX_INCLUDE_DEPTH:
            self.limit(
                literal.span,
                f"INCLUDEs nest more than {MAX_INCLUDE_DEPTH} files deep",
                "flatten the chain: include the files from one place",
            )
            return ()
        self.expanded += 1
        if self.expanded > MAX_INCLUDES:
            self.limit(
                literal.span,
                f"the pipeline expands more than {MAX_INCLUDES:,} INCLUDEs",
                "a file included twice is expanded twice, and so is everything it includes: "
                "include shared files once",
            )
            return ()
        here = stack[-1]
        shown = os.path.normpath(os.path.join(os.path.dirname(here.shown), written))
        if not written.lower().endswith(".sf") and not os.path.isdir(shown):
            # Never read (a diagnostic about its "syntax" would show its lines: /etc/shadow).
            reporter.error(
                Code.INCLUDE_NOT_PIPELINE,
                f"INCLUDE takes a pipeline file (`.sf`), and `{written}` is not one",
                literal.span,
                label="not a .sf file",
                help="rename the file to .sf if it holds SQLFlow statements; other files are "
                "not read",
            )
            return ()
        key = _key(shown)
        frame = _Frame(key=key, shown=shown, file_id=-1, site=literal.span)
        if any(f.key == key for f in stack):
            self.cycle(stack, frame)
            return ()
        loaded = self.load(shown, key, literal.span)
        if loaded is None:
            return ()
        file_id, included = loaded
        if stmt.alias is not None:
            self.labels[file_id] = stmt.alias.value
        elif here.file_id in self.labels:
            self.labels.setdefault(file_id, self.labels[here.file_id])
        if included is None:
            return ()
        return self.block(included.statements, (*stack, replace(frame, file_id=file_id)))

    def load(self, shown: str, key: str, site: Span) -> tuple[int, ast.Pipeline | None] | None:
        """The file's id and parsed pipeline (None after syntax errors); None if unreadable."""
        from sqlflowc.syntax.lower import (
            parse_pipeline,  # here: `import sqlflowc.api` loads no Lark
        )

        if key in self.parsed:
            return self.parsed[key]
        reporter = self.ctx.reporter
        try:
            data = read_bounded(shown)
        except FileTooLarge as err:
            reporter.error(
                Code.INCLUDE_NOT_FOUND,
                f"included file `{shown}` cannot be read: {err.reason}",
                site,
                label="too large",
            )
            return None
        except FileNotFoundError:
            reporter.error(
                Code.INCLUDE_NOT_FOUND,
                f"included file `{shown}` does not exist",
                site,
                label="no such file",
                help="the path is relative to the file that contains the INCLUDE",
            )
            return None
        except IsADirectoryError:
            reporter.error(
                Code.INCLUDE_NOT_FOUND,
                f"included path `{shown}` is a directory",
                site,
                label="not a file",
            )
            return None
        except OSError as err:
            reporter.error(
                Code.INCLUDE_NOT_FOUND,
                f"included file `{shown}` cannot be read: {err.strerror or err}",
                site,
                label="unreadable",
            )
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            reporter.error(
                Code.BAD_ENCODING,
                f"included file `{shown}` is not UTF-8 text",
                site,
                label="included here",
                help=f"the byte at offset {err.start} cannot be decoded; save the file as UTF-8",
            )
            return None
        file_id = self.ctx.sources.add(shown, text)
        result = (file_id, parse_pipeline(text, file_id, reporter))
        self.parsed[key] = result
        return result

    def limit(self, site: Span, message: str, help: str) -> None:
        """Report an include limit once; the compilation stops expanding after it."""
        if not self.over_limit:
            self.over_limit = True
            self.ctx.reporter.error(
                Code.INCLUDE_LIMIT, message, site, label="not included", help=help
            )

    def cycle(self, stack: tuple[_Frame, ...], closing: _Frame) -> None:
        site = closing.site
        assert site is not None
        if site in self.reported:
            return
        self.reported.add(site)
        start = next(i for i, f in enumerate(stack) if f.key == closing.key)
        chain = [*stack[start:], closing]
        notes = tuple(
            f"{self.ctx.sources.location(f.site)}: includes `{f.shown}`"
            for f in chain[1:]
            if f.site is not None
        )
        self.ctx.reporter.add(
            Diagnostic(
                Code.INCLUDE_CYCLE,
                "include cycle: " + " → ".join(f.shown for f in chain),
                site,
                label=f"`{closing.shown}` is already being included",
                help="a file cannot include itself, directly or through other files",
                notes=notes,
            )
        )


def _key(path: str) -> str:
    """The identity of a file for cycle detection: its absolute, symlink-free path."""
    return str(Path(path).resolve())
