"""The error catalogue, docs/errors.md, generated from the code itself.

Three parts, each read from the source so that the page cannot drift:

- the exception hierarchy (:mod:`eligo.errors`): every class, its exit code,
  what it means (its docstring) and what to do (its ``action``);
- every message each error class is raised with, found by reading the
  source's ``raise`` statements (templates: ``{…}`` stands for a value);
- every warning and input problem eligo can emit, found the same way: each is
  created with its kind where it is emitted (``DataWarning(WarningKind.X, ...)``,
  ``InputProblem(..., kind=WarningKind.X)``, ``Row(..., error_kind=WarningKind.X)``),
  and each :class:`~eligo.notices.WarningKind` documents itself (meaning, effect, action).

``python -m eligo.authoring.errordocs`` rewrites docs/errors.md; ``--check`` exits 1
when it is stale. tests/test_errors_doc.py fails when a warning site names no
kind, a kind has no site, or the page is stale.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from eligo import errors
from eligo.errors import EligoError, ExitCode
from eligo.notices import WarningKind
from eligo.paths import PROJECT_ROOT

SRC = Path(__file__).resolve().parents[1]
DOC = PROJECT_ROOT / "docs" / "errors.md"
#: The constructors of a warning, an input problem and a batch row: where, among their arguments (position,
#: keyword), are the kind, the message and the record the message is about (None: the call has none).
_WARNING_CALLS: dict[str, tuple[tuple[int, str], tuple[int, str], tuple[int, str] | None]] = {
    "DataWarning": ((0, "kind"), (1, "text"), (2, "record")),
    "InputProblem": ((2, "kind"), (1, "message"), None),
    "Row": ((7, "error_kind"), (4, "error"), None),
}


@dataclass(frozen=True, slots=True)
class Site:
    """A message template and where it is emitted."""

    module: str
    line: int
    template: str
    kind: str  # the exception class


@dataclass(frozen=True, slots=True)
class WarningSite:
    """Where a warning, an input problem or a row error is created, with the kind it names."""

    module: str
    line: int
    call: str  # DataWarning, InputProblem or Row
    kind: WarningKind | None  # None: the site names no kind (tests/test_errors_doc.py fails)
    template: str | None  # the message, ``{…}`` for each value; None when it is made elsewhere (an exception's)


def exception_classes() -> list[type[EligoError]]:
    """Every class of the hierarchy, depth-first from EligoError, in definition order."""
    defined = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, EligoError)]
    out: list[type[EligoError]] = []

    def visit(cls: type[EligoError]) -> None:
        out.append(cls)
        for sub in defined:
            if cls in sub.__bases__:
                visit(sub)

    visit(EligoError)
    return out


def _template(node: ast.AST | None) -> str | None:
    """The text of a message expression, with ``{…}`` for each value; None when it is not text."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{…}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        return (left or "{…}") + (right or "{…}") if left is not None or right is not None else None
    if isinstance(node, ast.IfExp):
        body, orelse = _template(node.body), _template(node.orelse)
        return body if body == orelse else "{…}"
    return None


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def raise_sites() -> list[Site]:
    """Every ``raise SomeEligoError("message", ...)`` in the package."""
    names = {c.__name__ for c in exception_classes()}
    out: list[Site] = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in names:
                text = _template(node.exc.args[0]) if node.exc.args else None
                out.append(Site(rel, node.lineno, text or "{…}", name))
    return out


def _argument(call: ast.Call, where: tuple[int, str] | None) -> ast.expr | None:
    """The argument at ``where`` (position, keyword) of a call; None when it is not given."""
    if where is None:
        return None
    index, name = where
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return call.args[index] if len(call.args) > index else None


def _kind(node: ast.expr | None) -> WarningKind | None:
    """The member a ``WarningKind.X`` expression names; None for anything else."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "WarningKind"
            and node.attr in WarningKind.__members__):
        return WarningKind[node.attr]
    return None


def warning_sites() -> list[WarningSite]:
    """Every ``DataWarning(...)`` and ``InputProblem(...)`` created in the package, and every batch ``Row``
    given an error of its own (one that names a kind, or whose text is written there: not an exception's
    message, nor an input problem's passed on)."""
    out: list[WarningSite] = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name not in _WARNING_CALLS:
                continue
            kind_at, text_at, record_at = _WARNING_CALLS[name]
            kind, text = _kind(_argument(node, kind_at)), _template(_argument(node, text_at))
            if name == "Row" and kind is None and text is None:
                continue
            record = _argument(node, record_at)
            if text is not None and record is not None and not (isinstance(record, ast.Constant)
                                                                 and record.value is None):
                text = f"{_template(record) or '{…}'}: {text}"
            out.append(WarningSite(rel, node.lineno, name, kind, text))
    return out


def _by_template(sites: Iterable[Site | WarningSite]) -> list[tuple[str, str]]:
    """(template, the modules that emit it) rows, one per distinct template."""
    modules: dict[str, set[str]] = {}
    for site in sites:
        if site.template is not None:
            modules.setdefault(site.template, set()).add(site.module)
    return [(t, ", ".join(f"`{m}`" for m in sorted(ms))) for t, ms in sorted(modules.items())]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The Markdown page."""
    lines = [
        "# Errors and warnings",
        "",
        "Generated by `python -m eligo.authoring.errordocs` from the exception hierarchy (`src/eligo/errors.py`) and",
        "from the messages in the source; `tests/test_errors_doc.py` fails when this page is stale or a",
        "message is not documented. Do not edit by hand.",
        "",
        "eligo stops (exit 2) only when nothing can be screened safely: the file cannot be read, or a part",
        "of it cannot be read at all (an unreadable record could be an exclusion, so no verdict is better",
        "than a wrong one). A record that is readable but unusable for a criterion is a **warning**: the",
        "criterion becomes `unknown`, its reason names the record and the problem, and its `needs` asks for",
        "a corrected record. Missing or malformed data never moves a patient towards `eligible`.",
        "",
        "## Exit codes",
        "",
        "| code | name | when |",
        "|---|---|---|",
    ]
    when = {ExitCode.OK: "a verdict was produced (whatever it is); a check ran clean",
            ExitCode.FINDINGS: "a check ran and found problems (`ontology check`, `shapes lint`, `shapes test`)",
            ExitCode.BAD_INPUT: "bad input or usage: one line on stderr, `eligo: error: FILE: problem`",
            ExitCode.INTERNAL: "a bug in eligo: one line on stderr (`--debug` shows the traceback)"}
    lines += [f"| {c.value} | {c.name} | {when[c]} |" for c in ExitCode]
    lines += ["", "## Errors (the exception hierarchy)", "",
              "Every error eligo raises on purpose is an `EligoError`; the CLI prints its message on one line and "
              "exits with its code. Anything else is a bug (exit 3).", ""]
    sites = raise_sites()
    for cls in exception_classes():
        parent = next((b.__name__ for b in cls.__bases__ if issubclass(b, EligoError)), "Exception")
        doc = " ".join((cls.__doc__ or "").split())
        lines += [f"### {cls.__name__}", "",
                  f"- subclass of `{parent}`; exit code {cls.exit_code.value} ({cls.exit_code.name})",
                  f"- meaning: {doc}",
                  f"- what to do: {cls.action}", ""]
        own = _by_template(s for s in sites if s.kind == cls.__name__)
        if own:
            lines += ["| message (`{…}` = a value) | raised in |", "|---|---|"]
            lines += [f"| {_md(t)} | {m} |" for t, m in own]
            lines.append("")
    lines += ["## Warnings and input problems", "",
              "Warnings are listed under `warnings` in `eligo check` output (each names the record, as "
              "`ResourceType/id`); input problems of `eligo screen` become error rows (`input:SOURCE`), so nothing "
              "is lost. In the Python API a warning is a `DataWarning` and its `kind` one of the `WarningKind` "
              "members below (`eligo.notices`); an input problem has the same `kind`.", ""]
    wsites = warning_sites()
    for kind in WarningKind:
        own = _by_template(s for s in wsites if s.kind is kind)
        lines += [f"### {kind.title}", "", f"- kind: `WarningKind.{kind.name}`", f"- meaning: {kind.meaning}",
                  f"- effect: {kind.effect}", f"- what to do: {kind.action}", "",
                  "| message (`{…}` = a value) | emitted in |", "|---|---|"]
        lines += [f"| {_md(t)} | {m} |" for t, m in own]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
        if current != text:
            print(f"{DOC} is stale; run `python -m eligo.authoring.errordocs`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
