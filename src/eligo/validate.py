"""The pySHACL adapter: validate a derived graph, return typed violations."""

from __future__ import annotations

from dataclasses import dataclass

import pyshacl
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH
from rdflib.term import Node


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
    _conforms, report, _text = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=False, inplace=True,
        abort_on_first=False, allow_warnings=False, allow_infos=False,
    )
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
            focus=focus,  # type: ignore[arg-type]
            source_shape=shape,  # type: ignore[arg-type]
            value=report.value(result, SH.value),
            path=report.value(result, SH.resultPath),
            message=msgs[0] if msgs else "",
        ))
    return out
