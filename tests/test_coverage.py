"""`eligo terms coverage`: the unrecognised codes of a population, with exact counts, in three formats, and the
ConceptMap skeleton that goes back in with --code-map."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from eligo.authoring.coverage import (
    CoverageReport,
    CoverageRow,
    coverage,
    criteria_by_resource_type,
    render,
    write_skeleton,
)
from eligo.cli import main
from eligo.codemap import load_code_map

LAB, DX, DRUGS, VAX = (f"http://hospital.example/{s}" for s in ("lab", "dx", "drugs", "vax"))
LOINC = "http://loinc.org"


def cc(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]} | ({"text": text} if text else {})


def rec(rtype: str, rid: str, pid: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": rtype, "id": rid, "subject": {"reference": f"Patient/{pid}"}, **fields}


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1970-01-01"}


@pytest.fixture
def population(tmp_path: Path) -> list[Path]:
    """Patients p1 and p2 in one Bundle, p3 in a Bulk NDJSON export. Unrecognised: EF-ECHO (3 records in 2
    patients), a diagnosis, a drug behind a Medication reference, a component code, a vaccine. Local codes in
    elements eligo does not read (Condition.category, Observation.interpretation) are not listed."""
    ef = 'EF (echo)'
    p1 = [patient("p1"),
          rec("Observation", "o1", "p1", code=cc(LAB, "EF-ECHO", ef), valueQuantity={"value": 55, "unit": "%"}),
          rec("Observation", "o2", "p1", code=cc(LAB, "EF-ECHO", text="LVEF echo")),
          rec("Condition", "c1", "p1", code=cc(DX, "BC1", "Breast ca"), category=[cc(DX, "CAT-1")]),
          rec("MedicationStatement", "m1", "p1", medicationReference={"reference": "Medication/med1"}),
          {"resourceType": "Medication", "id": "med1", "code": cc(DRUGS, "D-99", "Trastuzumab (local)")}]
    p2 = [patient("p2"),
          rec("Observation", "o3", "p2", code=cc(LAB, "EF-ECHO", ef), interpretation=[cc(LAB, "HIGH")]),
          rec("Observation", "o4", "p2", code=cc(LOINC, "718-7", "Haemoglobin"),
              component=[{"code": cc(LAB, "HB-COMP"), "valueQuantity": {"value": 1, "unit": "g/dL"}}])]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in p1 + p2]}), encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir()
    for rtype, res in (("Patient", patient("p3")),
                       ("Immunization", rec("Immunization", "i1", "p3", vaccineCode=cc(VAX, "V1", "Flu (live)"),
                                            occurrenceDateTime="2026-11-01")),
                       ("Observation", rec("Observation", "o5", "p3", code=cc(LOINC, "10230-1")))):
        with (export / f"{rtype}.ndjson").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(res) + "\n")
    return [bundle, export]


def test_counts_and_order(population: list[Path], trial, terms) -> None:
    report = coverage(population, trial=trial, terms=terms, progress=False)
    reads = criteria_by_resource_type(trial)
    obs = reads["Observation"]
    assert "IN11" in obs and reads["Immunization"] == ("EX08",)
    assert report.rows == (
        CoverageRow(LAB, "EF-ECHO", "EF (echo)", records=3, patients=2, resource_types=("Observation",),
                    criteria=obs),
        CoverageRow(DRUGS, "D-99", "Trastuzumab (local)", records=1, patients=1,
                    resource_types=("MedicationStatement",), criteria=reads["MedicationStatement"]),
        CoverageRow(DX, "BC1", "Breast ca", records=1, patients=1, resource_types=("Condition",),
                    criteria=reads["Condition"]),
        CoverageRow(LAB, "HB-COMP", None, records=1, patients=1, resource_types=("Observation",), criteria=obs),
        CoverageRow(VAX, "V1", "Flu (live)", records=1, patients=1, resource_types=("Immunization",),
                    criteria=("EX08",)),
    )
    assert "EX01" in reads["MedicationStatement"] and "IN03" in reads["Condition"]
    assert (report.patients, report.records, report.codes_seen, report.codes_recognised) == (3, 8, 7, 2)
    assert report.patients_affected == 3 and report.recognised_share == pytest.approx(2 / 7)
    assert report.problems == () and report.code_map is None and report.trial == trial.id


def test_the_three_formats(population: list[Path], trial, terms) -> None:
    report = coverage(population, trial=trial, terms=terms, progress=False)
    table = render(report, "table").splitlines()
    assert table[0].startswith("3 patients, 8 records, 7 distinct codes, 2 recognised (28.6%); 5 unrecognised, in 3 "
                               "patients (trial tdxd-her2-liquid-biopsy)")
    assert table[2].split() == ["patients", "records", "system", "code", "display", "resource_types", "criteria"]
    assert [line.split()[3] for line in table[3:]] == ["EF-ECHO", "D-99", "BC1", "HB-COMP", "V1"]
    assert table[3].split()[:2] == ["2", "3"]
    assert {line.index("http") for line in table[3:]} == {table[2].index("system")}  # aligned columns

    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [(r["system"], r["code"], r["patients"], r["records"]) for r in rows] == [
        (r.system, r.code, str(r.patients), str(r.records)) for r in report.rows]
    assert rows[4]["display"] == "Flu (live)" and rows[4]["criteria"] == "EX08"
    assert rows[3]["display"] == "" and rows[1]["resource_types"] == "MedicationStatement"

    doc = json.loads(render(report, "json"))
    assert {k: doc[k] for k in ("patients", "records", "codes_seen", "codes_recognised", "patients_affected")} == {
        "patients": 3, "records": 8, "codes_seen": 7, "codes_recognised": 2, "patients_affected": 3}
    assert doc["recognised_share"] == 0.2857 and doc["code_map"] is None and doc["problems"] == []
    assert doc["unrecognised"][0] == {"system": LAB, "code": "EF-ECHO", "display": "EF (echo)", "records": 3,
                                      "patients": 2, "resource_types": ["Observation"],
                                      "criteria": list(report.rows[0].criteria)}


def test_the_skeleton_is_a_valid_code_map_that_changes_nothing_until_filled(
        population: list[Path], trial, terms, tmp_path: Path) -> None:
    report = coverage(population, trial=trial, terms=terms, progress=False)
    skeleton = tmp_path / "local-codes.json"
    write_skeleton(report, skeleton)
    doc = json.loads(skeleton.read_text(encoding="utf-8"))
    assert doc["resourceType"] == "ConceptMap" and doc["status"] == "draft"
    assert [g["source"] for g in doc["group"]] == [DRUGS, DX, LAB, VAX]
    lab = doc["group"][2]
    assert [(e["code"], e.get("display")) for e in lab["element"]] == [("EF-ECHO", "EF (echo)"), ("HB-COMP", None)]
    assert all(t["equivalence"] == "unmatched" and "code" not in t for g in doc["group"] for e in g["element"]
               for t in e["target"])

    unchanged = load_code_map(skeleton)
    assert unchanged.entries == {}
    again = coverage(population, trial=trial, terms=terms, code_map=unchanged, progress=False)
    assert again.rows == report.rows and again.code_map == "EligoLocalCodes"

    # the site fills in one code (and the group's target system) and gives the map back
    lab["target"] = LOINC
    lab["element"][0]["target"] = [{"code": "10230-1", "display": "LVEF", "equivalence": "equivalent"}]
    skeleton.write_text(json.dumps(doc), encoding="utf-8")
    filled = coverage(population, trial=trial, terms=terms, code_map=load_code_map(skeleton), progress=False)
    assert [r.code for r in filled.rows] == ["D-99", "BC1", "HB-COMP", "V1"]
    assert filled.rows == report.rows[1:] and filled.codes_recognised == 3 and filled.patients_affected == 3

    # a code mapped only as narrower than a known code is still not recognised
    lab["element"][0]["target"][0]["equivalence"] = "narrower"
    skeleton.write_text(json.dumps(doc), encoding="utf-8")
    narrower = coverage(population, trial=trial, terms=terms, code_map=load_code_map(skeleton), progress=False)
    assert narrower.rows == report.rows


def test_rdf_input_and_input_problems(trial, terms, tmp_path: Path) -> None:
    ttl = tmp_path / "p.ttl"
    ttl.write_text("""@prefix eligo: <https://eligo.dev/ns#> .
<urn:p> a eligo:Patient ; eligo:sourceId "Patient/r1" .
<urn:o> a eligo:Observation ; eligo:subject <urn:p> ; eligo:code <http://hospital.example/lab#EF-ECHO> .
<urn:m> a eligo:MedicationExposure ; eligo:subject <urn:p> ;
    eligo:code <http://purl.bioontology.org/ontology/RXNORM/224905> .
""", encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    report = coverage([ttl, broken], trial=trial, terms=terms, progress=False)
    assert [(r.system, r.code, r.resource_types) for r in report.rows] == [(LAB, "EF-ECHO", ("Observation",))]
    assert (report.patients, report.records, report.codes_seen, report.codes_recognised) == (1, 2, 2, 1)
    assert len(report.problems) == 1 and report.problems[0].startswith(f"{broken}: malformed JSON")
    assert render(report, "table").splitlines()[-1] == f"input problem: {report.problems[0]}"


def test_cli(population: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skeleton = tmp_path / "out" / "map.json"
    argv = ["terms", "coverage", *map(str, population), "--format", "json", "--emit-conceptmap", str(skeleton)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert [r["code"] for r in json.loads(out)["unrecognised"]] == ["EF-ECHO", "D-99", "BC1", "HB-COMP", "V1"]
    assert f"wrote {skeleton}: 5 unrecognised code(s) to map" in err
    assert main(["terms", "coverage", *map(str, population), "--code-map", str(skeleton), "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
    assert main(["terms", "coverage", str(population[0]), "--code-map", str(population[0])]) == 2
    assert "not a FHIR ConceptMap (resourceType 'Bundle')" in capsys.readouterr().err


def test_report_share_without_codes() -> None:
    empty = CoverageReport(trial="t", code_map=None, patients=0, records=0, codes_seen=0, codes_recognised=0,
                           patients_affected=0, rows=())
    assert empty.recognised_share == 1.0 and json.loads(render(empty, "json"))["unrecognised"] == []
