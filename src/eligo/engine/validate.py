"""The pySHACL adapter: validate a derived graph, return typed violations."""

from __future__ import annotations

from dataclasses import dataclass

import pyshacl
from pyparsing import ParseBaseException
from pyshacl.errors import ReportableRuntimeError, ShapeLoadError, ValidationFailure
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from eligo.errors import ShapesRuntimeError


@dataclass(frozen=True, slots=True)
class Violation:
    """One sh:ValidationResult, reduced to what verdicts need."""

    focus: Node
    source_shape: Node
    value: Node | None
    path: Node | None
    message: str


def validate(data: Graph, shapes: Graph) -> list[Violation]:
    """Run pySHACL (SHACL Core, no inference) and list every violation.

    The data graph is validated in place: it is the engine's own working copy.
    """
    try:
        _conforms, report, _text = pyshacl.validate(
            data, shacl_graph=shapes, inference="none", advanced=False, inplace=True,
            abort_on_first=False, allow_warnings=False, allow_infos=False,
        )
    except (ReportableRuntimeError, ShapeLoadError, ValidationFailure, ParseBaseException) as exc:
        # a SPARQL constraint that does not parse reaches us as pyparsing's exception
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapesRuntimeError(f"pySHACL could not validate with these shapes: {first_line}") from exc
    out: list[Violation] = []
    # Only the report's own results: a failing sh:node also nests the inner shape's results under
    # sh:detail, and those belong to no criterion (counting them gave spurious "shapes bug" warnings).
    nested = set(report.objects(None, SH.detail))
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if result in nested:
            continue
        focus = report.value(result, SH.focusNode)
        shape = report.value(result, SH.sourceShape)
        msgs = sorted(str(m) for m in report.objects(result, SH.resultMessage) if isinstance(m, Literal))
        out.append(Violation(
            focus=focus,
            source_shape=shape,
            value=report.value(result, SH.value),
            path=report.value(result, SH.resultPath),
            message=msgs[0] if msgs else "",
        ))
    return out
