"""The pipeline files a command names: reading one, and expanding directories into files.

- `read_pipeline(path)`: the text of a `.sf` file as UTF-8 (a leading byte-order mark dropped);
  raises CompileError: SF0903 when it does not exist, SF0009 when it is not UTF-8 text (naming
  the byte offset, never showing the bytes), SF0913 for any other OSError (permission denied, a
  directory, ...) and for a file larger than `limits.MAX_FILE_BYTES` (at most that much is read:
  `compile /dev/zero` ends).
- `pipeline_files(paths)`: each path as given; a directory is replaced by the `.sf` files under
  it, recursively, in sorted order (hidden directories such as `.git` are skipped). A directory
  without any `.sf` file is a `ValueError` (the CLI reports it as a usage error). A file named
  twice is kept once.
- `included_by_others(files)`: the files among `files` that another one of them `INCLUDE`s
  (directly, in any IF branch): `check DIR` checks them through the files that include them,
  not on their own, where they could miss the tables their includer defines. Files that do not
  parse include nothing here (their errors are reported when they are checked).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlflowc.diagnostics import Code, CompileError, Diagnostic, Reporter
from sqlflowc.fileio import file_error
from sqlflowc.ir import ast
from sqlflowc.limits import FileTooLarge, read_bounded
from sqlflowc.source import SourceMap

__all__ = ["included_by_others", "pipeline_files", "read_pipeline"]

SUFFIX = ".sf"


def read_pipeline(path: Path) -> str:
    """The text of a pipeline file (see the module docstring for the errors)."""
    try:
        return read_bounded(path).decode("utf-8-sig")
    except FileTooLarge as err:
        diagnostic = Diagnostic(
            Code.FILE_ERROR,
            f"cannot read {path}: {err.reason}",
            help="a pipeline is text: split a generated one into INCLUDEd files",
        )
        raise CompileError([diagnostic], SourceMap()) from None
    except FileNotFoundError:
        raise CompileError(
            [Diagnostic(Code.INPUT_NOT_FOUND, f"pipeline file not found: {path}")], SourceMap()
        ) from None
    except UnicodeDecodeError as err:
        raise CompileError(
            [
                Diagnostic(
                    Code.BAD_ENCODING,
                    f"{path} is not UTF-8 text ({err.reason} at byte {err.start})",
                    help="save the file as UTF-8",
                )
            ],
            SourceMap(),
        ) from None
    except OSError as err:
        raise CompileError([file_error("read", path, err)], SourceMap()) from None


def pipeline_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories expanded to their `.sf` files (see the module docstring)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(_sf_files(path))
            if not found:
                raise ValueError(f"no {SUFFIX} files in directory {path}")
        else:
            found = [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                out.append(file)
    return out


def _sf_files(directory: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.endswith(SUFFIX) and not name.startswith("."):
                yield Path(root) / name


def included_by_others(files: Sequence[Path]) -> set[Path]:
    """The files of `files` that one of the others includes (see the module docstring)."""
    from sqlflowc.syntax.lower import parse_pipeline

    wanted = {f.resolve(): f for f in files}
    out: set[Path] = set()
    for file in files:
        try:
            text = read_pipeline(file)
        except CompileError:
            continue
        sources = SourceMap()
        pipeline = parse_pipeline(text, sources.add(str(file), text), Reporter())
        if pipeline is None:
            continue
        for written in _include_paths(pipeline.statements):
            target = (file.parent / written).resolve()
            if target in wanted and target != file.resolve():
                out.add(wanted[target])
    return out


def _include_paths(statements: Iterable[ast.Statement]) -> Iterable[str]:
    for stmt in statements:
        if isinstance(stmt, ast.Include):
            yield str(stmt.path.value)
        elif isinstance(stmt, ast.If):
            for branch in stmt.branches:
                yield from _include_paths(branch.body)
            yield from _include_paths(stmt.else_body or ())
