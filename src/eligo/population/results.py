"""Screening results as RDF: the eligo results vocabulary and the named-graph layout.

Vocabulary ``eres:`` = ``https://eligo.dev/results#`` (documented in ``docs/cohorts.md``):

- a run ``<https://eligo.dev/run/{uuid}>`` is an ``eres:ScreeningRun`` with its
  trial, index date, shapes version (a digest of the trial folder), terms
  version, engine version, screening start/end and load time; it names its
  criteria as ``eres:step`` nodes (``eres:position`` = catalogue order);
- per patient an ``eres:PatientResult`` with ``eres:patientId``,
  ``eres:patientGraph``, ``eres:verdict`` (or ``eres:error``) and one
  ``eres:result`` per criterion (``eres:step``, ``eres:outcome``, ``eres:needs``).

Outcome and verdict values are the tokens of the JSON contract
(``"met"``, ``"not-met"``, ``"unknown"``, ``"not-applicable"``;
``"eligible"``, ``"ineligible"``, ``"needs-data"``, ``"pending-attestation"``).

Named graphs: one per patient (its data), one per run (named by the run IRI,
holding all of the run's results), one for the term hierarchy and one per trial.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pyoxigraph import Literal, NamedNode, Triple

from eligo.engine.verdict import Verdict
from eligo.errors import InputError, UsageError
from eligo.population.rows import Row
from eligo.trial import Criterion, Outcome, Trial

ERES = "https://eligo.dev/results#"
GRAPH_BASE = "https://eligo.dev/graph/"
RUN_BASE = "https://eligo.dev/run/"
TERMS_GRAPH = NamedNode(GRAPH_BASE + "terms")

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")



def eres(local: str) -> NamedNode:
    return NamedNode(ERES + local)


def _typed(value: str, datatype: str) -> Literal:
    return Literal(value, datatype=NamedNode(XSD + datatype))


def patient_graph(key: str) -> NamedNode:
    """The named graph holding one patient's data (key: ``Patient/id`` or the RDF source id)."""
    return NamedNode(f"{GRAPH_BASE}patient/{quote(key, safe='')}")


def trial_graph(trial_id: str) -> NamedNode:
    """The named graph holding a trial folder (criteria, parameters, rules, shapes)."""
    return NamedNode(f"{GRAPH_BASE}trial/{quote(trial_id, safe='')}")


def folder_digest(folder: Path) -> str:
    """``sha256:`` over every file of a folder (relative path and bytes, sorted): the shapes version."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(f.relative_to(folder).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One screening run: what was screened against what, and when."""

    iri: NamedNode
    trial_id: str
    trial_iri: str
    index_date: dt.date
    shapes_version: str
    terms_version: str
    engine_version: str
    started: dt.datetime | None
    ended: dt.datetime | None

    @staticmethod
    def new(trial: Trial, *, index_date: dt.date, terms_version: str, started: dt.datetime | None,
            ended: dt.datetime | None) -> RunInfo:
        from eligo import __version__

        return RunInfo(NamedNode(RUN_BASE + uuid.uuid4().hex), trial.id, str(trial.iri), index_date,
                       folder_digest(trial.folder), terms_version, __version__, started, ended)

    def step(self, criterion_id: str) -> NamedNode:
        return NamedNode(f"{self.iri.value}/criterion/{quote(criterion_id, safe='')}")

    def patient_result(self, key: str) -> NamedNode:
        return NamedNode(f"{self.iri.value}/patient/{quote(key, safe='')}")


def _datetime(value: dt.datetime) -> Literal:
    return _typed(value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), "dateTime")


def step_triples(run: RunInfo, criteria: list[Criterion]) -> list[Triple]:
    """The run's criteria in catalogue order (``eres:position`` 1..n)."""
    out: list[Triple] = []
    for position, c in enumerate(criteria, start=1):
        s = run.step(c.id)
        out += [
            Triple(run.iri, eres("step"), s),
            Triple(s, RDF_TYPE, eres("CriterionStep")),
            Triple(s, eres("criterion"), NamedNode(str(c.iri))),
            Triple(s, eres("criterionId"), Literal(c.id)),
            Triple(s, eres("position"), _typed(str(position), "integer")),
            Triple(s, eres("kind"), Literal(c.kind.value)),
            Triple(s, eres("attestation"), _typed("true" if c.attestation else "false", "boolean")),
            Triple(s, RDFS_LABEL, Literal(c.label)),
        ]
    return out


def row_triples(run: RunInfo, row: Row, criterion_ids: frozenset[str]) -> list[Triple]:
    """One patient's result: verdict (or error) and one node per criterion with its outcome and needs."""
    r = run.patient_result(row.patient)
    out = [
        Triple(r, RDF_TYPE, eres("PatientResult")),
        Triple(r, eres("run"), run.iri),
        Triple(r, eres("patientId"), Literal(row.patient)),
        Triple(r, eres("patientGraph"), patient_graph(row.patient)),
    ]
    if row.source:
        out.append(Triple(r, eres("source"), Literal(row.source)))
    if row.error is not None or row.verdict is None:
        out.append(Triple(r, eres("error"), Literal(row.error or "no verdict")))
        return out
    out.append(Triple(r, eres("verdict"), Literal(row.verdict.value)))
    for cid, outcome in row.outcomes.items():
        if cid not in criterion_ids:
            raise UsageError(f"{row.patient}: criterion {cid} is not a criterion of trial {run.trial_id}; "
                             "were these rows screened against another trial?")
        cr = NamedNode(f"{r.value}/{quote(cid, safe='')}")
        out += [
            Triple(r, eres("result"), cr),
            Triple(cr, RDF_TYPE, eres("CriterionResult")),
            Triple(cr, eres("step"), run.step(cid)),
            Triple(cr, eres("outcome"), Literal(outcome.value)),
        ]
        out += [Triple(cr, eres("needs"), Literal(text)) for text in row.needs.get(cid, [])]
    return out


def run_triples(run: RunInfo, *, patients: int, loaded: dt.datetime) -> list[Triple]:
    """The run node itself. Written last: a run is visible to queries only once its results are complete."""
    i = run.iri
    out = [
        Triple(i, RDF_TYPE, eres("ScreeningRun")),
        Triple(i, eres("trial"), NamedNode(run.trial_iri)),
        Triple(i, eres("trialId"), Literal(run.trial_id)),
        Triple(i, eres("indexDate"), _typed(run.index_date.isoformat(), "date")),
        Triple(i, eres("shapesVersion"), Literal(run.shapes_version)),
        Triple(i, eres("termsVersion"), Literal(run.terms_version)),
        Triple(i, eres("engineVersion"), Literal(run.engine_version)),
        Triple(i, eres("patientCount"), _typed(str(patients), "integer")),
        Triple(i, eres("loadedAt"), _datetime(loaded)),
    ]
    if run.started is not None:
        out.append(Triple(i, eres("startedAt"), _datetime(run.started)))
    if run.ended is not None:
        out.append(Triple(i, eres("endedAt"), _datetime(run.ended)))
    return out


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of an ``eligo screen --format jsonl`` output file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            verdict = doc.get("verdict")
            yield Row(patient=str(doc["patient"]), source=str(doc.get("source") or ""),
                      verdict=Verdict(verdict) if verdict is not None else None,
                      outcomes={str(k): Outcome(v) for k, v in (doc.get("criteria") or {}).items()},
                      error=doc.get("error"), needs={k: list(v) for k, v in (doc.get("needs") or {}).items()})
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InputError(f"line {n} is not an `eligo screen` JSONL row ({exc})", source=str(path)) from exc
