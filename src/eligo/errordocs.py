"""The error catalogue, docs/errors.md, generated from the code itself.

Three parts, each read from the source so that the page cannot drift:

- the exception hierarchy (:mod:`eligo.errors`): every class, its exit code,
  what it means (its docstring) and what to do (its ``action``);
- every message each error class is raised with, found by reading the
  source's ``raise`` statements (templates: ``{…}`` stands for a value);
- every warning and input problem eligo can emit, found the same way, each
  matched to one documented :data:`WARNING_KINDS` entry (meaning and action).

``python -m eligo.errordocs`` rewrites docs/errors.md; ``--check`` exits 1
when it is stale. tests/test_errors_doc.py fails when a message has no
documented kind, a kind matches nothing, or the page is stale.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eligo import errors
from eligo.errors import EligoError, ExitCode
from eligo.paths import PROJECT_ROOT

SRC = Path(__file__).resolve().parent
DOC = PROJECT_ROOT / "docs" / "errors.md"
#: Modules whose warnings reach a coordinator (check output, screen rows). Store and cohort messages are
#: StoreError / UsageError, listed with the exceptions.
WARNING_MODULES = ("ingest/fhir_map.py", "ingest/fhir_json.py", "derive.py", "verdict.py", "population.py",
                   "screen.py")
#: Calls that emit a warning or an input problem: (receiver attribute or function name, index of the message).
_WARNING_CALLS = {"warn": 1, "problem": 1, "_problem": 2, "_unit_problem": 2, "add": 1, "InputProblem": 1}
#: Of those, the helpers that prefix the record's source id ("Observation/x: ...").
_PREFIXED = frozenset({"warn", "problem", "_problem", "_unit_problem"})


@dataclass(frozen=True, slots=True)
class Site:
    """A message template and where it is emitted."""

    module: str
    line: int
    template: str
    kind: str  # the exception class, or "warning"


@dataclass(frozen=True, slots=True)
class WarningKind:
    """A family of warnings: what they mean and what to do."""

    name: str
    pattern: str  # a regular expression searched in the message template
    meaning: str
    action: str
    effect: str  # what it does to the screening


WARNING_KINDS: tuple[WarningKind, ...] = (
    WarningKind("record-not-used: after the index date", r"after the index date .*was not used|, after the index",
                "A record is dated after the index date.",
                "Nothing, if the index date is right; otherwise rerun with the right --index-date.",
                "The record is ignored for every criterion."),
    WarningKind("record-not-used: entered in error", r"entered-in-error",
                "The record's status or verification status is entered-in-error.",
                "Nothing; correct the source system if the status is wrong.",
                "The record is ignored."),
    WarningKind("record-not-used: no subject / another patient", r"no subject/patient reference|not to the patient",
                "A resource in a patient's file has no subject, or refers to another patient.",
                "Check the export: the resource belongs to another patient or lost its subject.",
                "The record is ignored."),
    WarningKind("unreadable element", r"is not a (Quantity|CodeableConcept|Period|number|FHIR date|string)|"
                r"is not an integer|is not true/false|has no system|is not a string and|coding is not an object|"
                r"cannot be placed in time|of any measurable size",
                "A FHIR element has the wrong type or form (a string where a Quantity belongs, a code without a "
                "system, a date that is not a date).",
                "Correct the element in the source system or the export mapping.",
                "That part of the record is not read; a criterion that needed it is unknown and names the record "
                "in its reason (eligo:dataProblem)."),
    WarningKind("unresolved reference", r"does not resolve",
                "A medicationReference points to a Medication that is not in the input.",
                "Include the Medication resources in the export (or use medicationCodeableConcept).",
                "The agent is unknown: the therapy matches no drug group; criteria that need it say so."),
    WarningKind("unreadable date", r"unreadable date",
                "A date in the RDF input is not a date (for instance 2026-02-30).",
                "Correct the date.",
                "The record is undated: window criteria treat it as possibly inside (unknown) or ignore it, as "
                "each criterion documents; the criterion names the record."),
    WarningKind("implausible value", r"outside the plausible range|more than \{…\}|gives an age of",
                "A value no living patient can have (an LVEF of 150%, a negative count, an age over 130 years), by "
                "the limits in the term module (eligo:plausibleMin / eligo:plausibleMax).",
                "Correct the value; check the unit it was recorded in.",
                "The value is not used; the criterion is unknown and names the record."),
    WarningKind("impossible birth date", r"birth date \{…\} is after the index date",
                "The birth date is after the index date.",
                "Correct the birth date (or the index date).",
                "Age is unknown: IN02 and the Cockcroft-Gault clearance are unknown."),
    WarningKind("unit problem", r"^(?!.*reference range).*(cannot be converted|no unit given|is not a finite number|"
                r"out of any computable)",
                "A quantity has no unit, a unit that is not UCUM or cannot be converted to the unit the criterion "
                "compares in, or is not a finite number.",
                "Record the value with a UCUM unit (docs/data-requirements.md lists the units per analyte).",
                "The value is not used; the criterion is unknown and names the record."),
    WarningKind("reference range not usable", r"reference range high",
                "The reference range high (ULN) cannot be converted or is not positive.",
                "Correct the reference range.",
                "The trial's default ULN applies instead."),
    WarningKind("unrecognised code", r"unrecognised code",
                "A code the term module does not know (not a verified member of any criterion concept).",
                "If it should count, add it to ontology/terms with its source (docs/authoring.md); else nothing.",
                "The record is kept but matches no criterion concept; criteria that look for unclassifiable records "
                "(e.g. an unknown vaccine in the EX08 window) are unknown."),
    WarningKind("code read through its category or a code map", r"read as \{…\} (through the code map|\(\{…\}\), the)",
                "A code the term module does not list, recognised as a listed code: through the site's code map "
                "(--code-map), or as the ICD-10-CM category, ICD-O-3 morphology or ATC group it extends.",
                "Nothing, if that reading is right; else correct the code map (docs/cli.md, Local codes).",
                "The record counts exactly as the listed code."),
    WarningKind("possible member (doubt)", r"may be \{…\}: \{…\}; its codes do not say so",
                "A record whose codes do not put it in a group, while its text names a member (an anti-HER2 ADC) or "
                "the code map relates its code to one without equivalence.",
                "Confirm what was given and correct the record's code (or the code map).",
                "Exclusions that read the group are unknown on it (EX01), never met."),
    WarningKind("resource type not read", r"not mapped \(eligo does not read",
                "Resources of a type eligo does not read (e.g. FamilyMemberHistory).",
                "Nothing, unless a criterion should read them (then docs/data-requirements.md).",
                "Ignored, and counted in the warnings."),
    WarningKind("duplicate resources", r"identical (copy|duplicate)|share this id|read once",
                "The same resource appears more than once (identical copies), or different resources share one id.",
                "Deduplicate the export; give different resources different ids.",
                "Identical copies are read once; different resources sharing an id are all read, as separate "
                "records, so the result does not depend on their order."),
    WarningKind("engine safety net", r"no violations but no evidence|maps to no criterion|reported focus",
                "An inclusion criterion was not violated but cites no record (read as unknown: missing data never "
                "yields eligible), or a shapes-file bug.",
                "For the first: record the data the criterion needs. For the others: report a bug in the trial's "
                "shapes.",
                "The criterion is unknown."),
    WarningKind("malformed line (batch)", r"malformed JSON|unreadable JSON|not UTF-8|not a FHIR resource|"
                r"not valid Unicode|longer than|without an id",
                "In an NDJSON export, a line that cannot be read.",
                "Fix or remove the line (the message gives file and line number).",
                "The line is skipped and gets an error row; a patient it names is not screened (see below)."),
    WarningKind("patient not screened (batch)", r"was not screened|appears at \{…\} and again|could not be read \(",
                "A patient whose record is incomplete (a line naming it could not be read, or a file of the export "
                "could not be read) or ambiguous (two different versions of the Patient resource).",
                "Fix the named line or file, or keep one version of the patient; then resume the run (--resume).",
                "No verdict for that patient: an error row says why. eligo never screens a patient without part "
                "of its record."),
    WarningKind("orphan resources (batch)", r"refer to \{…\}, which is not a Patient",
                "Resources refer to a patient that is not in the input (or have no subject).",
                "Include the Patient resources, or check the subject references.",
                "The resources are not used; one error row counts them."),
    WarningKind("file not read (batch)", r"the file is empty|the file is \{…\} MB|no such file or folder|"
                r"no eligo:Patient in the file|cannot read the file|more problem line",
                "A batch input file that is empty, missing, too large to read whole (over 64 MB for a JSON or RDF "
                "document), or holds no patient.",
                "Check the path; export large populations as FHIR Bulk Data NDJSON, which eligo streams.",
                "An error row names the file; the other inputs are screened."),
    WarningKind("worker lost (batch)", r"^worker lost",
                "The process screening this patient died every time it was tried (killed by the system, "
                "usually for memory, or a crash in a native library); the other patients in flight were "
                "screened again and are unaffected.",
                "Check the patient alone with `eligo check` (watch its memory); give workers more memory or "
                "split the patient's record if it is huge.",
                "That patient's row has the error and no verdict."),
    WarningKind("internal error (batch)", r"internal error",
                "A bug in eligo while screening one patient.",
                "Report it with the input (the row names the patient); the rest of the run is unaffected.",
                "That patient's row has the error and no verdict."),
)


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
        return "".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values)
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


def warning_sites() -> list[Site]:
    """Every warning or input problem emitted in :data:`WARNING_MODULES`."""
    out: list[Site] = []
    for rel, tree in _modules():
        if rel not in WARNING_MODULES:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "append":
                owner = func.value
                owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if owner_name == "warnings" and node.args:
                    text = _template(node.args[0])
                    if text is not None and re.search("[A-Za-z]", text):  # not a helper forwarding a message
                        out.append(Site(rel, node.lineno, text, "warning"))
                continue
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "Row":  # a batch row that carries an error
                for kw in node.keywords:
                    text = _template(kw.value) if kw.arg == "error" else None
                    if text is not None and re.search("[A-Za-z]", text):
                        out.append(Site(rel, node.lineno, text, "warning"))
                continue
            if name == "add" and not (isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "log"):
                continue
            index = _WARNING_CALLS.get(name)
            if index is None or len(node.args) <= index:
                continue
            text = _template(node.args[index])
            if text is not None and re.search("[A-Za-z]", text):  # not a helper forwarding a message
                out.append(Site(rel, node.lineno, ("{…}: " if name in _PREFIXED else "") + text, "warning"))
    return out


def kinds_of(template: str) -> list[WarningKind]:
    return [k for k in WARNING_KINDS if re.search(k.pattern, template)]


def _by_template(sites: Iterator[Site]) -> list[tuple[str, str]]:
    """(template, the modules that emit it) rows, one per distinct template."""
    modules: dict[str, set[str]] = {}
    for site in sites:
        modules.setdefault(site.template, set()).add(site.module)
    return [(t, ", ".join(f"`{m}`" for m in sorted(ms))) for t, ms in sorted(modules.items())]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The Markdown page."""
    lines = [
        "# Errors and warnings",
        "",
        "Generated by `python -m eligo.errordocs` from the exception hierarchy (`src/eligo/errors.py`) and",
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
              "is lost.", ""]
    wsites = warning_sites()
    for kind in WARNING_KINDS:
        own = _by_template(s for s in wsites if kind in kinds_of(s.template))
        lines += [f"### {kind.name}", "", f"- meaning: {kind.meaning}", f"- effect: {kind.effect}",
                  f"- what to do: {kind.action}", "", "| message (`{…}` = a value) | emitted in |", "|---|---|"]
        lines += [f"| {_md(t)} | {m} |" for t, m in own]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
        if current != text:
            print(f"{DOC} is stale; run `python -m eligo.errordocs`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
