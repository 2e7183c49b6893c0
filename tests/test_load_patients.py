"""`eligo load`'s fast path for patient graphs (FHIR straight to N-Quads, Oxigraph's bulk loader, worker
processes) stores exactly the quads the rdflib path stored: FHIR NDJSON, FHIR Bundles and RDF with blank nodes,
in one process and in two workers; a patient that cannot be mapped or stored is a problem line naming it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyoxigraph import Quad, Store

from eligo import TermModule, Trial
from eligo.authoring.synth import generate, write_bulk
from eligo.errors import InputError
from eligo.ingest.batch import Unit, discover
from eligo.paths import EXAMPLES_DIR
from eligo.population.load import load_patients, patient_genid, stored_graph
from eligo.population.results import patient_graph
from eligo.population.store import EmbeddedStore, TermConverter, UnstorableData, graphs_of_nquads

INDEX = dt.date(2026, 12, 1)

BLANK_TTL = """
ex:bone a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/bone-lesion" ;
    eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#bone-lesion> ; eligo:date "2026-11-20"^^xsd:date ;
    eligo:component [ a eligo:Component ; eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#irradiated-site> ;
                      eligo:valueBoolean false ] ,
                    [ a eligo:Component ; eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#bone-scan-only> ;
                      eligo:valueBoolean false ] ,
                    [ a eligo:Component ; eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#bone-scan-only> ;
                      eligo:valueBoolean false ] ;
    eligo:note "two lines\\nand a \\"quote\\", a tab\\t, ünïcode"@en-GB .
"""


def rdf_patient(folder: Path, key: str, extra: str = BLANK_TTL) -> Path:
    """examples/eligible.ttl as patient ``key``, with blank-node components (two of them indistinguishable)."""
    path = folder / f"{key.replace('/', '-')}.ttl"
    path.write_text((EXAMPLES_DIR / "eligible.ttl").read_text(encoding="utf-8").replace(
        '"Patient/eligible"', f'"{key}"') + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, trial: Trial, terms: TermModule) -> list[Path]:
    root = tmp_path_factory.mktemp("load-inputs")
    write_bulk(generate(120, seed=5, trial=trial, terms=terms, index_date=INDEX), root / "ndjson")
    rdf = root / "rdf"
    rdf.mkdir()
    rdf_patient(rdf, "Patient/rdf-blank")
    return [root / "ndjson", *sorted(EXAMPLES_DIR.glob("*.json")), rdf]


def rdflib_path(inputs: list[Path]) -> tuple[set[Quad], list[str]]:
    """The quads the earlier `eligo load` stored: each unit through rdflib (`stored_graph`), converted term by
    term, replacing its graph."""
    store, conv = Store(), TermConverter()
    keys = []
    for unit in discover(inputs):
        if not isinstance(unit, Unit):
            continue
        graph = patient_graph(unit.key)
        if store.contains_named_graph(graph):
            store.remove_graph(graph)
        store.extend(Quad(t.subject, t.predicate, t.object, graph) for t in conv.triples(stored_graph(unit)))
        keys.append(unit.key)
    return set(store), keys


@pytest.mark.parametrize("workers", [1, 2])
def test_stored_quads_equal_the_rdflib_path(inputs: list[Path], tmp_path: Path, workers: int) -> None:
    expected, keys = rdflib_path(inputs)
    assert len(keys) == 120 + 4 + 1
    assert any("/.well-known/genid/patient/Patient%2Frdf-blank/" in q.subject.value for q in expected)
    with EmbeddedStore(tmp_path / "db", create=True) as store:
        for _ in range(2):  # a second load replaces every patient's graph
            patients, triples, problems = load_patients(store, inputs, workers=workers)
            assert (patients, triples, problems) == (len(keys), len(expected), [])
            assert set(store.store) == expected


def test_remote_backends_parse_the_same_quads() -> None:
    g1, g2, g3 = patient_graph("Patient/a"), patient_graph("Patient/b"), patient_graph("Patient/c")
    text = f'<urn:s> <urn:p> "x\\ty"@en {g1} .\n<urn:s> <urn:p> <urn:o> {g2} .\n'
    content = graphs_of_nquads([g1, g2, g3], text, step="load")
    assert [(g, len(t)) for g, t in content] == [(g1, 1), (g2, 1), (g3, 0)]
    with pytest.raises(UnstorableData, match="load: "):
        graphs_of_nquads([g1], "<urn:s> <urn:p> <urn:o%zz> " + f"{g1} .\n", step="load")
    with pytest.raises(UnstorableData, match="not one of the graphs"):
        graphs_of_nquads([g1], f"<urn:s> <urn:p> <urn:o> {g2} .\n", step="load")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_patient_that_cannot_be_stored_is_a_problem_and_the_load_goes_on(
        inputs: list[Path], tmp_path: Path, workers: int) -> None:
    rdf = tmp_path / "bad"
    rdf.mkdir()
    rdf_patient(rdf, "Patient/bad-iri", extra="ex:p eligo:note <http://example.com/a%zz> .\n")  # Oxigraph refuses
    rdf_patient(rdf, "Patient/good")
    bad = patient_graph("Patient/bad-iri")
    with EmbeddedStore(tmp_path / "db", create=True) as store:
        patients, _, problems = load_patients(store, [*inputs, rdf], workers=workers)
        assert patients == 120 + 4 + 1 + 1
        assert len(problems) == 1 and problems[0].startswith("Patient/bad-iri: its graph cannot be stored: ")
        assert "%zz" in problems[0]
        assert not store.store.contains_named_graph(bad)
        assert store.store.contains_named_graph(patient_graph("Patient/good"))
        assert store.store.contains_named_graph(patient_graph("Patient/rdf-blank"))


def test_a_patient_that_cannot_be_mapped_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eligo.population import patients as module

    def unit_triples(unit: Unit) -> object:
        if unit.key == "Patient/needs-data":
            raise InputError("a malformed date", source=unit.source)
        return real(unit)

    real = module.unit_triples
    monkeypatch.setattr(module, "unit_triples", unit_triples)
    with EmbeddedStore(tmp_path / "db0", create=True) as store:
        patients, _, problems = load_patients(store, sorted(EXAMPLES_DIR.glob("*.json")))
        assert patients == 3 and not store.store.contains_named_graph(patient_graph("Patient/needs-data"))
    assert problems == [f"Patient/needs-data: {EXAMPLES_DIR / 'needs-data.json'}: a malformed date"]


def test_an_input_problem_is_a_problem_line(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "ok.json").write_text((EXAMPLES_DIR / "eligible.json").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.json").write_text('{"resourceType": "Bundle", "type": "collection", "entry": [',
                                        encoding="utf-8")
    with EmbeddedStore(tmp_path / "db", create=True) as store:
        patients, _, problems = load_patients(store, [folder])
    assert patients == 1
    assert len(problems) == 1 and str(folder / "broken.json") in problems[0] and "malformed JSON" in problems[0]


def test_skolem_iris_are_scoped_by_the_patient() -> None:
    assert patient_genid("Patient/a b") == "https://eligo.dev/.well-known/genid/patient/Patient%2Fa%20b/"
