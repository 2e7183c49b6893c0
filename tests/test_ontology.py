"""Term module: the generated hierarchy is fresh; HermiT really catches misfiled codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eligo import TermModule, TermModuleError
from eligo.authoring.ontology_check import run
from eligo.paths import ONTOLOGY_DIR
from eligo.terms import HIERARCHY_FILE, inputs_digest


def test_generated_hierarchy_is_fresh() -> None:
    text = (ONTOLOGY_DIR / HIERARCHY_FILE).read_text(encoding="utf-8")
    assert f"# inputs-sha256: {inputs_digest()}" in text, (
        "ontology/generated/hierarchy.ttl is stale: run `eligo ontology check` and commit the result")


def test_term_module_is_clean(tmp_path: Path) -> None:
    copy = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, copy)
    report = run(copy)
    assert report.clean, report
    assert not report.unsatisfiable and not report.inconsistent
    # regenerating from the same sources gives the committed file, byte for byte
    assert (copy / HIERARCHY_FILE).read_bytes() == (ONTOLOGY_DIR / HIERARCHY_FILE).read_bytes()


def _mini_ontology(tmp_path: Path, extra: str) -> Path:
    root = tmp_path / "onto"
    (root / "terms").mkdir(parents=True)
    shutil.copy(ONTOLOGY_DIR / "model.ttl", root / "model.ttl")
    (root / "terms" / "t.ttl").write_text("""
@prefix eligo: <https://eligo.dev/ns#> .
@prefix eterm: <https://eligo.dev/terms#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix rxnorm: <http://purl.bioontology.org/ontology/RXNORM/> .
eterm:A a owl:Class ; rdfs:label "A" . eterm:B a owl:Class ; rdfs:label "B" ; owl:disjointWith eterm:A .
eterm:C a owl:Class ; rdfs:subClassOf eterm:A ; rdfs:label "C" .
""" + extra, encoding="utf-8")
    return root


def test_hermit_finds_a_code_filed_under_disjoint_groups(tmp_path: Path) -> None:
    root = _mini_ontology(tmp_path, """
rxnorm:1 a owl:Class ; rdfs:subClassOf eterm:C, eterm:B ; rdfs:label "misfiled" ; eligo:source "test" .
""")
    report = run(root)
    assert "http://purl.bioontology.org/ontology/RXNORM/1" in report.unsatisfiable
    assert not report.clean


def test_missing_source_is_reported_and_closure_is_transitive(tmp_path: Path) -> None:
    root = _mini_ontology(tmp_path, """
rxnorm:2 a owl:Class ; rdfs:subClassOf eterm:C ; rdfs:label "no source" .
""")
    report = run(root)
    assert report.missing_source == ["http://purl.bioontology.org/ontology/RXNORM/2"]
    terms = TermModule.load(root)
    from rdflib import URIRef
    anc = terms.ancestors(URIRef("http://purl.bioontology.org/ontology/RXNORM/2"))
    assert URIRef("https://eligo.dev/terms#A") in anc  # through C


def test_stale_hierarchy_is_refused(tmp_path: Path) -> None:
    root = _mini_ontology(tmp_path, "")
    run(root)
    TermModule.load(root)
    with (root / "terms" / "t.ttl").open("a", encoding="utf-8") as fh:
        fh.write("\neterm:D a owl:Class .\n")
    with pytest.raises(TermModuleError, match="stale"):
        TermModule.load(root)
