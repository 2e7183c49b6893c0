"""The population store as the web app reads and writes it: runs, one patient's graph and stored result, and
an attestation written into the patient's graph with the patient's result replaced in the run.

Values go into the SPARQL text only as terms serialised by pyoxigraph (IRIs it validated, literals it
escaped), never as raw text; they are placed in the patterns themselves (a VALUES block outside a GRAPH
pattern leaves Oxigraph to scan the whole run before joining, seconds on a 10,000-patient run). A
write is one SPARQL Update (pyoxigraph's ``Store.update`` for the embedded store, the endpoint's update URL
otherwise): the new triples of the patient graph, and the patient's result in the run deleted and written
again, in one request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral

from eligo.engine.verdict import Screening
from eligo.errors import StoreError
from eligo.population.cohort import load_query, run_query, text_value
from eligo.population.results import ERES, RunInfo, eres, patient_graph, row_triples
from eligo.population.rows import Row
from eligo.population.store import EmbeddedStore, SparqlEndpoint, Term, TermConverter
from eligo.trial import Trial
from eligo.web.state import WebError

Backend = EmbeddedStore | SparqlEndpoint
XSD = "http://www.w3.org/2001/XMLSchema#"


@dataclass(frozen=True, slots=True)
class RunMeta:
    """One run of the store, as ``queries/runs.rq`` describes it."""

    iri: str
    trial: str
    index_date: dt.date
    patients: int
    shapes_version: str
    started: str
    ended: str
    loaded: str

    @property
    def short(self) -> str:
        return self.iri.rsplit("/", 1)[-1][:8]


def runs(backend: Backend, run: str | None = None) -> list[RunMeta]:
    """The store's runs, most recently loaded first (only ``run`` when given)."""
    table = run_query(backend, load_query("runs"), {"run": run} if run else {})
    out = []
    for r in table.records():
        def v(name: str, rec: dict[str, Term | None] = r) -> str:
            return text_value(rec.get(name))
        try:
            day = dt.date.fromisoformat(v("indexDate"))
        except ValueError:
            continue
        out.append(RunMeta(v("run"), v("trial"), day, int(v("patients") or 0), v("shapesVersion"),
                           v("startedAt"), v("endedAt"), v("loadedAt")))
    return out


def choose_run(backend: Backend, run: str | None) -> RunMeta | None:
    """The run named (a usage error if the store has no such run), else the most recently loaded one."""
    found = runs(backend, run)
    if run and not found:
        raise WebError(404, f"the store has no run {run}")
    return found[0] if found else None


def _rdflib(term: Term) -> URIRef | BNode | RdfLiteral:
    if isinstance(term, NamedNode):
        return URIRef(term.value)
    if isinstance(term, BlankNode):
        return BNode(term.value)
    if term.language:
        return RdfLiteral(term.value, lang=term.language)
    if term.datatype.value == XSD + "string":  # plain literals went in as xsd:string; rdflib tells them apart
        return RdfLiteral(term.value)
    return RdfLiteral(term.value, datatype=URIRef(term.datatype.value))


def read_patient_graph(backend: Backend, key: str) -> Graph:
    """One patient's data graph (eligo model) from the store; a 404 if the store has none for ``key``."""
    table = backend.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH {patient_graph(key)} {{ ?s ?p ?o }} }}")
    if not table.rows:
        raise WebError(404, f"the store holds no data for the patient {key}")
    g = Graph()
    for s, p, o in table.rows:
        if s is not None and p is not None and o is not None:
            g.add((_rdflib(s), _rdflib(p), _rdflib(o)))
    return g


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A patient's result in a run, and how the run was screened."""

    verdict: str | None
    error: str | None
    source: str
    terms_version: str
    present: bool


def stored_result(backend: Backend, run: RunMeta, key: str) -> StoredResult:
    """The patient's result node in the run (its IRI is ``{run}/patient/{key}``, ``RunInfo.patient_result``)."""
    g, r = NamedNode(run.iri), _run_info(run).patient_result(key)  # IRIs serialised by pyoxigraph (validated)
    table = backend.select(
        f"PREFIX eres: <{ERES}>\nSELECT ?id ?verdict ?error ?source ?terms WHERE {{\n"
        f"  GRAPH {g} {{ {g} eres:termsVersion ?terms .\n"
        f"    OPTIONAL {{ {r} eres:patientId ?id }} OPTIONAL {{ {r} eres:verdict ?verdict }}\n"
        f"    OPTIONAL {{ {r} eres:error ?error }} OPTIONAL {{ {r} eres:source ?source }} }} }}")
    if not table.rows:
        return StoredResult(None, None, "", "", False)
    rec = table.records()[0]
    return StoredResult(text_value(rec["verdict"]) or None, text_value(rec["error"]) or None,
                        text_value(rec["source"]), text_value(rec["terms"]), text_value(rec["id"]) == key)


def _run_info(run: RunMeta) -> RunInfo:
    """Enough of a :class:`RunInfo` to name the run's nodes and write results into it."""
    return RunInfo(NamedNode(run.iri), run.trial, "", run.index_date, run.shapes_version, "", "", None, None)


def sparql_update(backend: Backend, text: str) -> None:
    """Run one SPARQL Update on the embedded store or the endpoint's update URL."""
    if isinstance(backend, EmbeddedStore):
        try:
            backend.store.update(text)
        except (SyntaxError, OSError) as exc:
            raise StoreError(f"cannot write to the store: {exc}", source=str(backend.path)) from exc
        return
    backend.update(text, step="write the attestation")


def _nt(triples: list[Triple]) -> str:
    data = serialize(triples, format=RdfFormat.N_TRIPLES)
    return data.decode("utf-8") if data is not None else ""


def run_unchanged_reason(run: RunMeta, stored: StoredResult, *, trial: Trial, shapes_version: str) -> str | None:
    """Why the run's result for the patient cannot be replaced by the new screening (None: it can)."""
    if run.trial != trial.id:
        return f"run {run.iri} screened trial {run.trial}, not {trial.id}"
    if run.shapes_version != shapes_version:
        return (f"the trial folder changed since run {run.iri} was screened (its shapes version is "
                f"{run.shapes_version[:19]}..., the server's {shapes_version[:19]}...): load the population again "
                "to screen it with the current trial")
    if "code map" in stored.terms_version:
        return (f"run {run.iri} was screened through a site code map ({stored.terms_version}), which eligo serve "
                "does not read")
    if not stored.present:
        return f"the patient has no result in run {run.iri}"
    return None


def write_attestation(backend: Backend, *, key: str, triples: Graph, run: RunMeta | None, screening: Screening | None,
                      source: str, note: str) -> None:
    """Add ``triples`` to the patient's graph and, with ``run`` and ``screening``, replace the patient's result
    in the run by ``screening`` (marked ``eres:rescreenedAt`` / ``eres:rescreenNote``), in one update."""
    conv = TermConverter()
    parts = [f"PREFIX eres: <{ERES}>\n"]
    inserts = [f"GRAPH {patient_graph(key)} {{\n{_nt(conv.triples(triples))}}}\n"]
    if run is not None and screening is not None:
        info = _run_info(run)
        result, g = info.patient_result(key), info.iri
        parts.append(f"DELETE {{ GRAPH {g} {{ ?cr ?p ?o }} }} WHERE {{ GRAPH {g} {{ {result} eres:result ?cr . "
                     "?cr ?p ?o } } ;\n")
        parts.append(f"DELETE WHERE {{ GRAPH {g} {{ {result} ?p ?o }} }} ;\n")
        row = Row(key, source, screening.verdict, {c.id: c.outcome for c in screening.criteria},
                  needs={c.id: list(c.needs) for c in screening.criteria if c.needs})
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        extra = [Triple(result, eres("rescreenedAt"), Literal(now, datatype=NamedNode(XSD + "dateTime"))),
                 Triple(result, eres("rescreenNote"), Literal(note))]
        inserts.append(f"GRAPH {info.iri} {{\n{_nt(row_triples(info, row, frozenset(row.outcomes)) + extra)}}}\n")
    parts.append("INSERT DATA {\n" + "".join(inserts) + "}\n")
    sparql_update(backend, "".join(parts))
