"""Local code maps (FHIR ConceptMap, `--code-map`): parsing R4 and R5, errors naming file and JSON location,
and the effect on a screening: a code mapped `equivalent` counts exactly as its target, `narrower` does not,
an unmapped code stays unrecognised."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from eligo.check import Screener
from eligo.cli import main
from eligo.codemap import CodeMap, MapTarget, Relationship, load_code_map
from eligo.engine.verdict import Verdict
from eligo.errors import CodeMapError, InputError
from eligo.ingest.fhir_map import code_iri
from eligo.model import LOINC, RXNORM
from eligo.notices import WarningKind
from eligo.paths import EXAMPLES_DIR
from eligo.population.screen import screen

INDEX = dt.date(2026, 12, 1)
LAB = "http://hospital.example/lab"
DRUGS = "http://hospital.example/drugs"


def write(tmp_path: Path, doc: Any, name: str = "map.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def concept_map(*, lvef: str = "equivalent", drug: str = "equivalent", **extra: Any) -> dict[str, Any]:
    """A site's map: its LVEF code to LOINC 10230-1, its trastuzumab code to RxNorm 224905."""
    return {"resourceType": "ConceptMap", "name": "HospitalCodes", "status": "active", **extra, "group": [
        {"source": LAB, "target": "http://loinc.org", "element": [
            {"code": "EF-ECHO", "display": "EF (echo)",
             "target": [{"code": "10230-1", "display": "LVEF", "equivalence": lvef}]}]},
        {"source": DRUGS, "target": "http://www.nlm.nih.gov/research/umls/rxnorm", "element": [
            {"code": "TRZ", "target": [{"code": "224905", "equivalence": drug}]}]}]}


# ------------------------------------------------------------------------------ parsing
def test_r4_map_is_read_into_targets(tmp_path: Path) -> None:
    doc = concept_map()
    doc["group"][0]["element"].append({"code": "EF-MUGA", "target": [
        {"code": "10230-1", "equivalence": "wider"}, {"code": "8806-2", "equivalence": "inexact"}]})
    doc["group"][0]["element"].append({"code": "NOPE", "target": [{"equivalence": "unmatched"}]})
    doc["group"][0]["element"].append({"code": "NOT-IT", "target": [{"code": "1-8", "equivalence": "disjoint"}]})
    cm = load_code_map(write(tmp_path, doc))
    assert cm.name == "HospitalCodes" and cm.source == str(tmp_path / "map.json")
    assert cm.targets(code_iri(LAB, "EF-ECHO")) == (MapTarget(LOINC["10230-1"], Relationship.EQUIVALENT, "LVEF"),)
    assert [(t.code, t.relationship) for t in cm.targets(code_iri(LAB, "EF-MUGA"))] == [
        (LOINC["10230-1"], Relationship.WIDER), (LOINC["8806-2"], Relationship.INEXACT)]
    assert cm.targets(code_iri(DRUGS, "TRZ")) == (MapTarget(RXNORM["224905"], Relationship.EQUIVALENT, None),)
    # unmatched and disjoint targets are dropped: those codes stay unrecognised
    assert code_iri(LAB, "NOPE") not in cm.entries and code_iri(LAB, "NOT-IT") not in cm.entries
    assert cm.targets(code_iri(LAB, "never-listed")) == ()
    assert pickle.loads(pickle.dumps(cm)) == cm  # it travels to worker processes


def test_r5_relationships_are_read_as_their_r4_equivalents(tmp_path: Path) -> None:
    doc = {"resourceType": "ConceptMap", "title": "R5 map", "group": [{"source": LAB, "target": "http://loinc.org",
           "element": [{"code": c, "target": [{"code": "10230-1", "relationship": r}]} for c, r in (
               ("a", "equivalent"), ("b", "source-is-narrower-than-target"), ("c", "source-is-broader-than-target"),
               ("d", "related-to"), ("e", "not-related-to"))]}]}
    cm = load_code_map(write(tmp_path, doc))
    assert cm.name == "R5 map"
    got = {str(k).rsplit("#", 1)[1]: v[0].relationship for k, v in cm.entries.items()}
    assert got == {"a": Relationship.EQUIVALENT, "b": Relationship.WIDER, "c": Relationship.NARROWER,
                   "d": Relationship.RELATEDTO}  # not-related-to is disjoint: dropped


@pytest.mark.parametrize(("extra", "name"), [({"url": "http://hospital.example/cm"}, "http://hospital.example/cm"),
                                             ({}, "nameless.json")])
def test_the_name_falls_back_to_url_then_file_name(tmp_path: Path, extra: dict[str, str], name: str) -> None:
    doc = {"resourceType": "ConceptMap", **extra}
    assert load_code_map(write(tmp_path, doc, "nameless.json")).name == name


def test_relationship_properties() -> None:
    assert {r for r in Relationship if r.counts_as_target} == {
        Relationship.EQUIVALENT, Relationship.EQUAL, Relationship.WIDER, Relationship.SUBSUMES}
    assert {r for r in Relationship if r.possibly_target} == {
        Relationship.NARROWER, Relationship.SPECIALIZES, Relationship.RELATEDTO, Relationship.INEXACT}
    for r in (Relationship.UNMATCHED, Relationship.DISJOINT):
        assert not r.counts_as_target and not r.possibly_target


def _bad(edit: Any) -> Any:
    doc = concept_map()
    edit(doc)
    return doc


def _set(path: list[Any], value: Any) -> Any:
    def edit(doc: Any) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return _bad(edit)


@pytest.mark.parametrize(("doc", "message"), [
    ("{not json", "not JSON: line 1, column 2"),
    ({"resourceType": "Bundle", "type": "collection"}, "not a FHIR ConceptMap (resourceType 'Bundle')"),
    ([1, 2], "not a FHIR ConceptMap (resourceType 'list')"),
    (_set(["group", 1, "source"], KeyError), "group[1]: no source system (group.source)"),
    (_set(["group", 0, "target"], KeyError), "group[0].element[0].target[0]: code '10230-1' has no system"),
    (_set(["group", 0, "source"], 42), "group[0]: source 42 is not a non-empty string"),
    (_set(["group", 0, "element", 0, "code"], KeyError), "group[0].element[0]: no code"),
    (_set(["group", 0, "element", 0, "target", 0, "code"], KeyError),
     "group[0].element[0].target[0]: no code (only an unmatched or disjoint target may leave it out"),
    (_set(["group", 1, "element", 0, "target", 0, "equivalence"], "sameish"),
     "group[1].element[0].target[0]: equivalence 'sameish' is not a FHIR ConceptMapEquivalence"),
    (_set(["group", 1, "element", 0, "target", 0, "equivalence"], ["equal"]),
     "group[1].element[0].target[0]: equivalence ['equal'] is not a FHIR ConceptMapEquivalence"),
    (_set(["group", 0, "element", 0, "target", 0], {"code": "x", "relationship": "same"}),
     "group[0].element[0].target[0]: relationship 'same' is not a FHIR R5 ConceptMapRelationship"),
    (_set(["group", 0, "element", 0, "target", 0], {"code": "x"}),
     "group[0].element[0].target[0]: no equivalence (FHIR R4) or relationship (R5)"),
    (_set(["group"], {"source": LAB}), "group: is not a list"),
    (_set(["group", 0, "element", 0], "EF-ECHO"), "group[0].element[0]: is not an object"),
])
def test_a_bad_map_is_an_error_naming_file_and_location(tmp_path: Path, doc: Any, message: str) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(CodeMapError) as info:
        load_code_map(path)
    assert isinstance(info.value, InputError) and info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)


def test_a_missing_or_empty_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_code_map(tmp_path / "absent.json")
    with pytest.raises(InputError, match="the file is empty"):
        load_code_map(write(tmp_path, "  \n"))


# ------------------------------------------------------------------------------ effect on a screening
def _local_bundle(tmp_path: Path) -> Path:
    """The eligible example patient, its LVEF and its trastuzumab recorded with the site's local codes."""
    bundle = json.loads((EXAMPLES_DIR / "eligible.json").read_text(encoding="utf-8"))
    local = copy.deepcopy(bundle)
    for entry in local["entry"]:
        res = entry["resource"]
        if res.get("id") == "lvef":
            res["code"] = {"coding": [{"system": LAB, "code": "EF-ECHO", "display": "EF (echo)"}]}
        if res.get("id") == "trastuzumab":
            res["medicationCodeableConcept"] = {"coding": [{"system": DRUGS, "code": "TRZ"}]}
    return write(tmp_path, local, "local-codes.json")


def test_check_with_a_code_map_changes_the_outcome(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patient = _local_bundle(tmp_path)
    cm = write(tmp_path, concept_map())
    assert main(["check", str(patient), "--index-date", "2026-12-01", "--format", "json", "--code-map", str(cm)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "eligible"
    outcomes = {c["id"]: c for c in doc["criteria"]}
    assert outcomes["IN11"]["outcome"] == "met" and "Observation/lvef" in outcomes["IN11"]["evidence"]
    assert outcomes["IN05"]["outcome"] == "met"

    bad = write(tmp_path, _set(["group", 0, "element", 0, "target", 0, "equivalence"], "sameish"), "bad.json")
    assert main(["check", str(patient), "--index-date", "2026-12-01", "--code-map", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"eligo: error: {bad}: group[0].element[0].target[0]: equivalence 'sameish' is not a FHIR "
                   "ConceptMapEquivalence (relatedto, equivalent, equal, wider, subsumes, narrower, specializes, "
                   "inexact, unmatched, disjoint)"]


@pytest.mark.parametrize(("relationship", "verdict", "in11", "in05"), [
    ("equivalent", Verdict.ELIGIBLE, "met", "met"),    # counts exactly as its target
    ("equal", Verdict.ELIGIBLE, "met", "met"),
    ("narrower", Verdict.INELIGIBLE, "unknown", "not-met"),  # may or may not be the target: never counted as it
    ("unmatched", Verdict.INELIGIBLE, "unknown", "not-met"),  # as if unmapped
])
def test_how_a_mapped_code_counts(trial, terms, tmp_path: Path, relationship: str, verdict: Verdict, in11: str,
                                  in05: str) -> None:
    patient = _local_bundle(tmp_path)
    cm = load_code_map(write(tmp_path, concept_map(lvef=relationship, drug=relationship)))
    s = Screener(trial=trial, terms=terms, code_map=cm).check(patient, index_date=INDEX)
    assert (s.verdict, s.result("IN11").outcome.value, s.result("IN05").outcome.value) == (verdict, in11, in05)


def test_unmapped_local_codes_stay_unrecognised(trial, terms, tmp_path: Path) -> None:
    patient = _local_bundle(tmp_path)
    empty = CodeMap(name="empty", source="-", entries={})
    for screener in (Screener(trial=trial, terms=terms), Screener(trial=trial, terms=terms, code_map=empty)):
        s = screener.check(patient, index_date=INDEX)
        assert s.result("IN11").outcome.value == "unknown"
        assert any(w.kind is WarningKind.UNRECOGNISED_CODE
                   and "unrecognised code http://hospital.example/lab#EF-ECHO" in w.text for w in s.warnings)


def _population(tmp_path: Path) -> Path:
    """Two copies of the local-code patient, Patient/a and Patient/b, one Bundle each."""
    bundle = json.loads(_local_bundle(tmp_path).read_text(encoding="utf-8"))
    folder = tmp_path / "pop"
    folder.mkdir()
    for pid in ("a", "b"):
        b = copy.deepcopy(bundle)
        for entry in b["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Patient":
                res["id"] = pid
            for key in ("subject", "patient"):
                if key in res:
                    res[key]["reference"] = f"Patient/{pid}"
        write(folder, b, f"{pid}.json")
    return folder


def _verdicts(out: Path) -> dict[str, str]:
    return {r["patient"]: r["verdict"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


def test_screen_sends_the_code_map_to_its_worker_processes(tmp_path: Path, startup_cache: Path) -> None:
    """Two patients, two spawned workers: each worker screens with the map (it is pickled to them)."""
    folder, cm, out = _population(tmp_path), load_code_map(write(tmp_path, concept_map())), tmp_path / "rows.jsonl"
    summary = screen([folder], index_date=INDEX, out=out, workers=2, progress=False, code_map=cm,
                     cache_dir=startup_cache)
    assert summary.total == 2 and summary.errors == 0
    assert _verdicts(out) == {"Patient/a": "eligible", "Patient/b": "eligible"}


def test_screen_on_dask_sends_the_code_map_to_the_workers(tmp_path: Path, startup_cache: Path) -> None:
    from distributed import LocalCluster

    folder, cm, out = _population(tmp_path), load_code_map(write(tmp_path, concept_map())), tmp_path / "rows.jsonl"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        screen([folder], index_date=INDEX, out=out, scheduler=cluster.scheduler_address, progress=False, code_map=cm,
               cache_dir=startup_cache)
        assert _verdicts(out) == {"Patient/a": "eligible", "Patient/b": "eligible"}
        screen([folder], index_date=INDEX, out=out, scheduler=cluster.scheduler_address, progress=False,
               cache_dir=startup_cache)
        assert _verdicts(out) == {"Patient/a": "ineligible", "Patient/b": "ineligible"}  # not the cached screener


def test_load_screens_with_the_code_map_and_names_it_in_the_run(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from eligo.population.store import EmbeddedStore

    folder, cm, store = _population(tmp_path), write(tmp_path, concept_map()), tmp_path / "store"
    base = ["load", str(folder), "--store", str(store), "--code-map", str(cm)]
    assert main([*base, "--no-screen"]) == 2
    assert "--code-map is used by the screening; it cannot go with --no-screen or --rows" in capsys.readouterr().err
    assert main([*base, "--index-date", "2026-12-01", "--workers", "1", "--progress", "never"]) == 0
    assert "eligible             2" in capsys.readouterr().out
    with EmbeddedStore(store) as backend:
        table = backend.select("SELECT ?v WHERE { GRAPH ?g { ?run <https://eligo.dev/results#termsVersion> ?v } }")
    (version,) = [str(r["v"].value) for r in table.records()]
    assert version.startswith("sha256:") and version.endswith(f" + code map HospitalCodes ({cm})")
