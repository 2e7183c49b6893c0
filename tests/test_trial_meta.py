"""Meta-tests: the trial folder is complete, well-formed and consistent with the spec."""

from __future__ import annotations

import re
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from eligo import Outcome, TermModule, Trial
from eligo.fixtures import load_fixtures
from eligo.model import ELIGO, PREFIXES
from eligo.paths import PROJECT_ROOT

SPEC = PROJECT_ROOT / "docs" / "spec" / "CRITERIA.md"
SHARED_SPEC = PROJECT_ROOT.parent / "shared" / "CRITERIA.md"


def spec_ids() -> list[str]:
    return sorted(set(re.findall(r"^\| (IN\d\d|EX\d\d)\b", SPEC.read_text(encoding="utf-8"), re.M)))


def test_spec_snapshot_matches_shared_copy() -> None:
    if not SHARED_SPEC.is_file():
        pytest.skip("no ../shared/CRITERIA.md beside this checkout")
    assert SPEC.read_text(encoding="utf-8") == SHARED_SPEC.read_text(encoding="utf-8"), (
        "docs/spec/CRITERIA.md is out of date: copy ../shared/CRITERIA.md over it and review the change")


def test_spec_lists_24_criteria() -> None:
    assert len(spec_ids()) == 24


def test_every_spec_criterion_has_one_shape_file(trial: Trial) -> None:
    ids = {c.id for c in trial.criteria}
    assert sorted(ids) == spec_ids()
    for c in trial.criteria:
        assert c.file.name.startswith(c.id + "-"), f"{c.id} lives in {c.file.name}"
        others = [x.id for x in trial.criteria if x.file == c.file and x.id != c.id]
        assert not others, f"{c.file.name} holds several criteria: {others}"


def test_every_criterion_carries_its_metadata(trial: Trial) -> None:
    protocol = (trial.folder / "protocol.txt").read_text(encoding="utf-8")
    for c in trial.criteria:
        assert c.protocol_text, f"{c.id}: no eligo:protocolText"
        assert c.protocol_text in protocol, f"{c.id}: protocol text is not verbatim: {c.protocol_text!r}"
        assert (c.iri, ELIGO.attestation, None) in trial.graph, f"{c.id}: no eligo:attestation flag"
        assert c.possible_outcomes, f"{c.id}: no eligo:possibleOutcome"
        assert c.label and c.label != c.id, f"{c.id}: no rdfs:label"
        shapes = [s for s, m in trial.shape_meanings.items() if m.criterion == c.iri]
        assert shapes, f"{c.id}: no shape maps a violation to an outcome"
        if Outcome.MET in c.possible_outcomes and c.kind.value == "inclusion":
            assert c.evidence_paths, f"{c.id}: an inclusion criterion that can be met needs eligo:evidencePath"


def test_outcome_mapping_matches_possible_outcomes(trial: Trial) -> None:
    for c in trial.criteria:
        mapped = {m.on_violation for m in trial.shape_meanings.values() if m.criterion == c.iri}
        declared = set(c.possible_outcomes) - {Outcome.MET}
        assert mapped == declared, f"{c.id}: shapes map to {mapped}, criterion declares {declared}"


def test_every_criterion_shape_targets_patients(trial: Trial) -> None:
    for shape, crit in trial.graph.subject_objects(ELIGO.criterion):
        if (shape, RDF.type, SH.SPARQLRule) in trial.graph:
            continue
        if (shape, RDF.type, SH.NodeShape) in trial.graph:
            assert (shape, SH.targetClass, ELIGO.Patient) in trial.graph, f"{shape} does not target eligo:Patient"


def test_shapes_graph_passes_shacl_shacl(trial: Trial) -> None:
    conforms, _report, text = pyshacl.validate(Graph(), shacl_graph=trial.shapes_graph, meta_shacl=True)
    assert conforms, text


_CODE_RE = re.compile(r"\b(eterm|ecode|sct|loinc|rxnorm|icd10cm|ncit|cvx|atc|icdo3):([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])")


def test_every_term_iri_used_exists_in_term_module(trial: Trial, terms: TermModule) -> None:
    known = set(terms.codes)
    used: set[URIRef] = set()
    ns = {p: str(PREFIXES[p]) for p in ("eterm", "ecode", "sct", "loinc", "rxnorm", "icd10cm", "ncit", "cvx",
                                         "atc", "icdo3")}
    for _s, _p, o in trial.graph:
        if isinstance(o, URIRef) and any(str(o).startswith(v) for v in ns.values()):
            used.add(o)
    for rule in trial.rules:
        for prefix, local in _CODE_RE.findall(rule.text):
            used.add(URIRef(ns[prefix] + local))
    missing = sorted(str(u) for u in used - known)
    assert not missing, f"term IRIs used by shapes or rules but absent from the term module: {missing}"


_VALUE_PARAMETERS = {SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH.minCount,
                     SH.maxCount, SH.minLength, SH.maxLength, SH.hasValue, SH.qualifiedMinCount,
                     SH.qualifiedMaxCount}


def test_parameters_referenced_exist_and_are_used(trial: Trial) -> None:
    trial_ns = next(iter(trial.prefixes.values()))
    defined = {str(p) for p in trial.parameters}
    used: set[str] = set()
    for _s, p, o in trial.graph:
        if isinstance(o, URIRef) and str(o).startswith(trial_ns) and (
                p in _VALUE_PARAMETERS or p in (ELIGO.inWindow, ELIGO.maybeInWindow)):
            used.add(str(o))
    rule_refs = {trial_ns + local for r in trial.rules for local in re.findall(r"\btdxd:([A-Za-z0-9_]+)", r.text)}
    used |= rule_refs & defined
    undefined = sorted(used - defined)
    assert not undefined, f"parameters referenced but not defined: {undefined}"
    unused = sorted(defined - used)
    assert not unused, f"parameters defined but used by no shape or rule: {unused}"


def test_every_criterion_has_fixtures_for_each_possible_outcome(trial: Trial) -> None:
    fixtures = load_fixtures(trial)
    for c in trial.criteria:
        got = {fx.expect for fx in fixtures if fx.criterion == c.id}
        missing = sorted(o.value for o in c.possible_outcomes - got)
        assert got, f"{c.id}: no fixtures"
        assert not missing, f"{c.id}: no fixture for outcome(s) {missing}"
        unexpected = sorted(o.value for o in got - c.possible_outcomes)
        assert not unexpected, f"{c.id}: fixtures expect outcomes the criterion does not declare: {unexpected}"


def test_fixture_names_are_unique(trial: Trial) -> None:
    ids = [fx.id for fx in load_fixtures(trial)]
    assert len(ids) == len(set(ids))


def test_trial_file_paths_are_named_by_id(trial: Trial) -> None:
    for f in trial.folder.glob("*.ttl"):
        assert f.name in {"trial.ttl", "parameters.ttl", "derivations.ttl"} or re.match(
            r"^(IN|EX)\d\d-[a-z0-9-]+\.ttl$", f.name), f"unexpected file name {f.name}"
    assert Path(trial.folder / "protocol.txt").is_file()
