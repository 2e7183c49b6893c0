"""`eligo shapes lint`: a trial folder against SHACL-SHACL and eligo's conventions.

Each check has a name; each finding names the file and line (or IRI) at fault.
The checks read the trial as the trial loader reads it; a folder the loader
refuses is read file by file instead, so it still gets a full list of what is
wrong.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyshacl
from pyshacl.errors import ReportableRuntimeError
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from eligo.authoring.terms_view import curie
from eligo.engine.rule_checks import rule_problems
from eligo.engine.shape_compiler import uncompilable
from eligo.errors import EligoError
from eligo.model import ELIGO, TERM_NAMESPACES
from eligo.paths import ONTOLOGY_DIR
from eligo.placeholders import TEXT_PROPERTIES, local_name, parameters_as_written, restated_values, unknown_placeholders
from eligo.rule_queries import parse_rule, query_iris
from eligo.terms import load_sources
from eligo.trial import OUTCOME_IRIS, Outcome, Rule, Trial

_TERM_NS = TERM_NAMESPACES
_VALUE_PARAMETERS = {SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH.minCount,
                     SH.maxCount, SH.minLength, SH.maxLength, SH.hasValue, SH.qualifiedMinCount,
                     SH.qualifiedMaxCount}
FIXED_FILES = {"trial.ttl", "parameters.ttl", "derivations.ttl"}

#: Every check, with what it means (printed by `eligo shapes lint --list`).
CHECKS: dict[str, str] = {
    "parse": "every Turtle and fixture file parses",
    "trial": "trial.ttl declares one eligo:Trial with its id, prefix and protocol file",
    "criterion-id": "every criterion has an eligo:criterionId, unique in the trial",
    "criterion-kind": "every criterion is eligo:Inclusion or eligo:Exclusion",
    "criterion-text": "every criterion carries its protocol sentence verbatim (found in the protocol file)",
    "criterion-attestation": "every criterion says whether it is an attestation",
    "criterion-label": "every criterion has an rdfs:label and a catalogue eligo:order",
    "criterion-file": "one criterion per file, named <ID>-<slug>.ttl",
    "outcome-mapping": "each criterion's shapes map violations to exactly its possible outcomes",
    "evidence-path": "an inclusion criterion that can be met names the records it rests on",
    "shape-target": "every criterion shape targets eligo:Patient (no shape without a target)",
    "term-exists": "every term IRI used by a shape or rule exists in the term module",
    "parameter-defined": "every parameter a shape or rule names is defined with a value",
    "parameter-used": "every parameter defined is used by a shape or rule",
    "rule-sparql": "every rule is a valid SPARQL CONSTRUCT",
    "shacl-shacl": "the resolved shapes graph conforms to SHACL-SHACL",
    "fixtures": "every criterion has fixtures, covering each possible outcome and no other",
    "parameter-text": "message, needs and reason texts name parameters ({labWindow}) instead of restating their "
                      "values, and name only parameters that exist",
    "rule-anchored": "every pattern of every rule hangs off $this, so that running a rule once over a batch of "
                     "patients derives for each what running it on that patient alone does (docs/authoring.md, "
                     "\"Rules that run set-at-a-time\")",
    "rule-arithmetic": "rules multiply and divide with eligo:multiply / eligo:divide, never SPARQL's *, / or AVG, "
                       "which rdflib and Oxigraph round differently (docs/authoring.md, \"Arithmetic in rules\")",
    "rule-probe": "(a warning) an OPTIONAL group of several patterns in a rule repeats the pattern, VALUES or UNION "
                  "that binds what it shares with the group before it, or the batch engine evaluates it over every "
                  "patient of the batch (docs/authoring.md, \"Rules that run set-at-a-time\")",
    "shapes-compiled": "every shape compiles to the batch engine's SPARQL (a trial with one that does not is "
                       "screened by pySHACL, with a warning)",
}


#: Checks about speed, not results: their findings are printed as warnings and do not fail the lint.
WARNING_CHECKS = frozenset({"rule-probe"})


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    message: str
    file: Path | None = None
    line: int | None = None

    @property
    def is_warning(self) -> bool:
        return self.check in WARNING_CHECKS

    def render(self, root: Path | None = None) -> str:
        where = ""
        if self.file is not None:
            f = self.file
            if root is not None and f.is_relative_to(root):
                f = f.relative_to(root)
            where = f"{f}:{self.line}: " if self.line else f"{f}: "
        return f"{where}{'warning: ' if self.is_warning else ''}[{self.check}] {self.message}"


def _line_of(path: Path, needles: list[str]) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for needle in needles:
        for i, text in enumerate(lines, start=1):
            if needle in text:
                return i
    return None


def _rule_iris(text: str, prefixes: dict[str, str]) -> frozenset[URIRef] | None:
    try:
        return query_iris(parse_rule(text, prefixes))
    except Exception:  # reported by the loader (rule-sparql)
        return None


class _Folder:
    """A trial folder: the loaded ``trial`` when the loader accepts it, else read file by file."""

    def __init__(self, folder: Path, trial: Trial | None = None) -> None:
        self.folder = folder
        self.trial = trial
        self.graph = Graph() if trial is None else trial.graph
        self.file_of: dict[URIRef, Path] = {} if trial is None else dict(trial.file_of)
        self.parse_findings: list[Finding] = []
        for f in sorted(folder.glob("*.ttl")) if trial is None else ():
            part = Graph()
            try:
                part.parse(f, format="turtle")
            except Exception as exc:  # rdflib raises many parser types
                line = re.search(r"line (\d+)", str(exc))
                self.parse_findings.append(Finding("parse", " ".join(str(exc).split())[:300], f,
                                                   int(line.group(1)) if line else None))
                continue
            for s in part.subjects():
                if isinstance(s, URIRef):
                    self.file_of.setdefault(s, f)
            self.graph += part
        self.trial_node = self.graph.value(None, RDF.type, ELIGO.Trial)
        self.ns = ""
        prefixes: dict[str, str] = {}
        if self.trial_node is not None:
            for decl in self.graph.objects(self.trial_node, SH.declare):
                ns = self.graph.value(decl, SH.namespace)
                if ns is not None:
                    self.ns = str(ns)
                    prefixes[str(self.graph.value(decl, SH.prefix))] = str(ns)
        self.prefixes = prefixes
        #: the IRIs each rule names, as the loader parsed them (None: the rule does not parse)
        self.rule_iris: dict[object, frozenset[URIRef] | None] = (
            {r.iri: r.iris for r in trial.rules} if trial is not None else
            {r: _rule_iris(str(t), prefixes) for r, t in self.graph.subject_objects(SH.construct)})

    def where(self, iri: URIRef) -> tuple[Path | None, int | None]:
        f = self.file_of.get(iri)
        if f is None:
            return None, None
        local = str(iri)[len(self.ns):] if self.ns and str(iri).startswith(self.ns) else None
        needles = ([f":{local} ", f":{local}\n", f":{local}"] if local else []) + [f"<{iri}>"]
        return f, _line_of(f, needles)

    def file_for(self, node: object) -> Path | None:
        """The file a node was written in; a blank node is found through its parents."""
        seen: set[object] = set()
        while node is not None and node not in seen:
            seen.add(node)
            if isinstance(node, URIRef) and node in self.file_of:
                return self.file_of[node]
            node = next(iter(self.graph.subjects(None, node)), None)  # type: ignore[arg-type]
        return None

    def finding(self, check: str, message: str, iri: Node | None = None, file: Path | None = None) -> Finding:
        if isinstance(iri, URIRef):
            f, line = self.where(iri)
            return Finding(check, message, f or file, line)
        return Finding(check, message, file)


def _criteria_checks(d: _Folder) -> Iterator[Finding]:
    g = d.graph
    protocol_file = g.value(d.trial_node, ELIGO.protocolFile) if d.trial_node is not None else None
    protocol = ""
    if protocol_file is not None and (d.folder / str(protocol_file)).is_file():
        protocol = (d.folder / str(protocol_file)).read_text(encoding="utf-8")
    ids: dict[str, URIRef] = {}
    per_file: dict[Path, list[str]] = {}
    for c in sorted(g.subjects(RDF.type, ELIGO.Criterion), key=str):
        if not isinstance(c, URIRef):
            continue
        cid = g.value(c, ELIGO.criterionId)
        name = str(cid) if cid is not None else str(c)
        if cid is None or not str(cid).strip():
            yield d.finding("criterion-id", f"criterion {c} has no eligo:criterionId", c)
        elif str(cid) in ids:
            yield d.finding("criterion-id", f"duplicate criterion id {cid} (also {ids[str(cid)]})", c)
        else:
            ids[str(cid)] = c
        if g.value(c, ELIGO.kind) not in (ELIGO.Inclusion, ELIGO.Exclusion):
            yield d.finding("criterion-kind", f"{name}: eligo:kind must be eligo:Inclusion or eligo:Exclusion", c)
        text = g.value(c, ELIGO.protocolText)
        if text is None or not str(text).strip():
            yield d.finding("criterion-text", f"{name}: no eligo:protocolText", c)
        elif protocol and str(text) not in protocol:
            yield d.finding("criterion-text", f"{name}: eligo:protocolText is not verbatim in {protocol_file}", c)
        att = g.value(c, ELIGO.attestation)
        if not isinstance(att, Literal) or not isinstance(att.toPython(), bool):
            yield d.finding("criterion-attestation", f"{name}: eligo:attestation must be true or false", c)
        if g.value(c, RDFS.label) is None or g.value(c, ELIGO.order) is None:
            yield d.finding("criterion-label", f"{name}: needs rdfs:label and eligo:order", c)
        f = d.file_of.get(c)
        if f is not None and cid is not None:
            per_file.setdefault(f, []).append(str(cid))
            if not f.name.startswith(f"{cid}-"):
                yield d.finding("criterion-file", f"{name} lives in {f.name}; name the file {cid}-<slug>.ttl", c)
        possible = {OUTCOME_IRIS[o] for o in g.objects(c, ELIGO.possibleOutcome) if o in OUTCOME_IRIS}
        shapes = [s for s in g.subjects(ELIGO.criterion, c) if (s, RDF.type, SH.SPARQLRule) not in g]
        mapped: set[Outcome] = set()
        for s in shapes:
            for node in [s, *g.objects(s, SH.property)]:
                ov = g.value(node, ELIGO.onViolation)
                if ov is not None and ov not in OUTCOME_IRIS:
                    yield d.finding("outcome-mapping", f"{name}: shape {node} has eligo:onViolation {ov}", c)
                elif ov is not None:
                    mapped.add(OUTCOME_IRIS[ov])
            if g.value(s, ELIGO.onViolation) is None:
                yield d.finding("outcome-mapping", f"{name}: shape {s} has no eligo:onViolation", c)
            if (s, SH.targetClass, ELIGO.Patient) not in g:
                yield d.finding("shape-target", f"{name}: shape {s} does not target eligo:Patient", c)
        if not possible:
            yield d.finding("outcome-mapping", f"{name}: no eligo:possibleOutcome", c)
        elif mapped != possible - {Outcome.MET}:
            yield d.finding("outcome-mapping", f"{name}: shapes map violations to "
                            f"{sorted(o.value for o in mapped)} but the criterion declares "
                            f"{sorted(o.value for o in possible)}", c)
        if (g.value(c, ELIGO.kind) == ELIGO.Inclusion and Outcome.MET in possible
                and g.value(c, ELIGO.evidencePath) is None):
            yield d.finding("evidence-path", f"{name}: an inclusion criterion that can be met needs "
                            "eligo:evidencePath", c)
    for f, cids in per_file.items():
        if len(cids) > 1:
            yield Finding("criterion-file", f"{f.name} holds several criteria: {', '.join(sorted(cids))}", f)


def _term_and_parameter_checks(d: _Folder, known_terms: set[URIRef]) -> Iterator[Finding]:
    g = d.graph
    params = {p for p in g.subjects(RDF.type, ELIGO.Parameter)} | {p for p in g.subjects(RDF.type, ELIGO.Window)}
    used: dict[URIRef, Path | None] = {}
    for s, p, o in g:
        if not isinstance(o, URIRef):
            continue
        if str(o).startswith(_TERM_NS) and o not in known_terms:
            f = d.file_for(s)
            yield Finding("term-exists", f"{o} is not in the term module", f,
                          _line_of(f, [str(o).rsplit("/", 1)[-1].rsplit("#", 1)[-1]]) if f else None)
        if d.ns and str(o).startswith(d.ns) and (p in _VALUE_PARAMETERS or p in (ELIGO.inWindow,
                                                                                 ELIGO.maybeInWindow)):
            used[o] = d.file_for(s)
    for r in g.subjects(RDF.type, SH.SPARQLRule):
        text = g.value(r, SH.construct)
        f = d.file_of.get(r) if isinstance(r, URIRef) else None
        if text is None:
            yield Finding("rule-sparql", f"rule {r} has no sh:construct", f)
            continue
        for iri in sorted(d.rule_iris.get(r) or (), key=str):
            if str(iri).startswith(_TERM_NS) and iri not in known_terms:
                yield Finding("term-exists", f"rule {r} uses {curie(iri)}, not in the term module", f,
                              _line_of(f, [curie(iri)]) if f else None)
            if iri in params:
                used[iri] = f
    for p, f in sorted(used.items(), key=lambda x: str(x[0])):
        if p not in params:
            if (p, RDF.type, SH.NodeShape) in g or (p, RDF.type, RDF.Property) in g:
                continue
            local = str(p)[len(d.ns):]
            yield Finding("parameter-defined", f"{p} is used as a parameter but not defined in parameters.ttl", f,
                          _line_of(f, [f":{local}"]) if f else None)
        elif g.value(p, ELIGO.value) is None and (p, RDF.type, ELIGO.Window) not in g:
            yield d.finding("parameter-defined", f"parameter {p} has no eligo:value", p)
    # a rule that does not parse may use any parameter: no parameter-used finding until it does
    for p in sorted(params - set(used) if None not in d.rule_iris.values() else (), key=str):
        yield d.finding("parameter-used", f"parameter {p} is used by no shape or rule", p)


def _fixture_checks(d: _Folder) -> Iterator[Finding]:
    g = d.graph
    folder = d.folder / "fixtures"
    seen: dict[str, set[Outcome]] = {}
    for f in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            doc = tomllib.loads(f.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            yield Finding("parse", f"bad TOML: {exc}", f)
            continue
        cid = str(doc.get("criterion") or f.stem)
        for fx in doc.get("fixture", []):
            try:
                seen.setdefault(cid, set()).add(Outcome(fx.get("expect")))
            except ValueError:
                yield Finding("fixtures", f"fixture {fx.get('name')}: expect {fx.get('expect')!r} is not an outcome", f)
    for c in sorted(g.subjects(RDF.type, ELIGO.Criterion), key=str):
        cid = str(g.value(c, ELIGO.criterionId) or "")
        if not cid:
            continue
        possible = {OUTCOME_IRIS[o] for o in g.objects(c, ELIGO.possibleOutcome) if o in OUTCOME_IRIS}
        got = seen.get(cid, set())
        if not got:
            yield d.finding("fixtures", f"{cid} has no fixtures (fixtures/{cid}.toml)", c)
            continue
        if possible - got:
            yield d.finding("fixtures", f"{cid}: no fixture for {sorted(o.value for o in possible - got)}", c)
        if got - possible:
            yield d.finding("fixtures", f"{cid}: fixtures expect undeclared outcomes "
                            f"{sorted(o.value for o in got - possible)}", c)


def _rules(d: _Folder) -> list[Rule]:
    """The trial's rules as the loader parses them (read one by one when the loader refuses the folder; a rule
    that does not parse is left to the rule-sparql check)."""
    if d.trial is not None:
        return list(d.trial.rules)
    out = []
    for r, text in d.graph.subject_objects(SH.construct):
        with contextlib.suppress(Exception):
            query = parse_rule(str(text), d.prefixes)
            if isinstance(r, URIRef):
                out.append(Rule(iri=r, order=Decimal(0), criterion=None, text=str(text), query=query))
    return out


def _batch_checks(d: _Folder) -> Iterator[Finding]:
    """rule-anchored and rule-arithmetic (from each rule's query algebra), and shapes-compiled (on a folder the
    loader accepts: the compiler reads the loaded shapes; a refused folder has that finding instead)."""
    for rule, check, message in rule_problems(sorted(_rules(d), key=lambda r: str(r.iri))):
        yield d.finding(check, f"rule {local_name(rule.iri)}: {message}", rule.iri)
    if d.trial is None:
        return
    for line in uncompilable(d.trial):
        shape = re.match(r"shape <([^>]+)>:", line)
        iri = URIRef(shape.group(1)) if shape else None
        yield d.finding("shapes-compiled", f"{line}; the trial would be screened by pySHACL", iri,
                        file=(d.file_for(iri) if iri is not None else None) or d.folder)


def parameter_text_checks(folder: Path) -> Iterator[Finding]:
    """parameter-text, over the texts as written (the loader renders their placeholders)."""
    files: list[tuple[Path, Graph]] = []
    for f in sorted(folder.glob("*.ttl")):
        with contextlib.suppress(Exception):  # a file that does not parse is reported by the parse check
            files.append((f, Graph().parse(f, format="turtle")))
    params = parameters_as_written([g for _f, g in files])
    by_name = {local_name(i): p for i, p in params.items()}
    for f, g in files:
        found: list[Finding] = []
        texts = {str(t) for prop in TEXT_PROPERTIES for t in g.objects(None, prop) if isinstance(t, Literal)}
        for text in texts:
            line = _line_of(f, [text[:60], text[:25]])
            found += [Finding("parameter-text", f"{{{name}}} names no parameter of the trial (parameters.ttl)",
                              f, line) for name in unknown_placeholders(text, set(by_name))]
            for r in restated_values(text, params):
                hint = " or ".join(f"{{{n}{'.value' if r.number_only and by_name[n].unit else ''}}}"
                                   for n in r.parameters)
                found.append(Finding("parameter-text", f"{r.text!r} restates a parameter's value: write {hint}",
                                     f, line))
        yield from sorted(found, key=lambda x: (x.line or 0, x.message))


def lint(folder: Path, *, ontology_dir: Path = ONTOLOGY_DIR) -> list[Finding]:
    """Every finding for one trial folder (empty when clean)."""
    trial, refusal = _load(folder)
    d = _Folder(trial.folder if trial is not None else folder, trial)
    findings = list(d.parse_findings)
    if d.trial_node is None:
        findings.append(Finding("trial", "no eligo:Trial node (trial.ttl)", folder / "trial.ttl"))
    elif not d.ns:
        findings.append(Finding("trial", "the trial declares no prefix (sh:declare)", folder / "trial.ttl"))
    try:
        sources = load_sources(ontology_dir)
        known = {c for c in sources.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
    except EligoError as exc:
        findings.append(Finding("term-exists", f"cannot read the term module: {exc}"))
        known = set()
    findings.extend(_criteria_checks(d))
    findings.extend(_term_and_parameter_checks(d, known))
    findings.extend(_fixture_checks(d))
    findings.extend(parameter_text_checks(folder))
    findings.extend(_batch_checks(d))
    if not d.parse_findings:
        findings.extend([refusal] if refusal is not None else [])
        findings.extend(_shacl_shacl(d))
    return findings


def _load(folder: Path) -> tuple[Trial | None, Finding | None]:
    """The trial as the trial loader reads it, or why the loader refuses the folder."""
    try:
        return Trial.load(folder), None
    except EligoError as exc:
        check = "rule-sparql" if "not valid SPARQL" in str(exc) else "trial"
        return None, Finding(check, f"the trial loader refuses the folder: {exc.message}",
                             Path(exc.source) if exc.source else None)


def _shacl_shacl(d: _Folder) -> list[Finding]:
    """SHACL-SHACL over the shapes as the engine will see them (parameters resolved, rules removed)."""
    g = d.graph
    rules = set(g.subjects(RDF.type, SH.SPARQLRule))
    values = {p: g.value(p, ELIGO.value) for p in g.subjects(RDF.type, ELIGO.Parameter)}
    resolved = Graph()
    for s, p, o in g:
        if s in rules:
            continue
        value = values.get(o) if str(p).startswith(str(SH)) else None
        resolved.add((s, p, value if value is not None else o))
    try:
        conforms, _graph, text = pyshacl.validate(Graph(), shacl_graph=resolved, meta_shacl=True)
    except ReportableRuntimeError as exc:
        conforms, text = False, str(exc)
    if conforms:
        return []
    out = []
    for block in text.split("Constraint Violation")[1:]:
        focus = re.search(r"Focus Node: (.*)", block)
        msg = re.search(r"Message: (.*)", block)
        out.append(Finding("shacl-shacl", f"{msg.group(1) if msg else 'violation'} at "
                           f"{focus.group(1)[:160] if focus else '?'}"))
    return out[:20] or [Finding("shacl-shacl", "the shapes graph does not conform to SHACL-SHACL")]
