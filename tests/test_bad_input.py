"""Bad input: every kind a hospital export can hold, its message, and what it does to the verdict.

The rule (docs/errors.md): eligo exits 2 only when nothing can be screened safely (the file cannot be
read, or part of it cannot be read at all); a record that is readable but unusable for a criterion makes
that criterion ``unknown`` with a reason naming the record, and never moves the patient towards
``eligible``. Most cases start from the eligible demo patient (examples/eligible.json) and damage one
record, so the test also shows the verdict leaving ``eligible``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligo import InputError, PatientGraphError, Screener
from eligo.cli import main
from eligo.engine.verdict import Screening, Verdict
from eligo.ingest import read_patient
from eligo.ingest.batch import InputProblem, Unit, UnitKind, discover
from eligo.ingest.fhir_json import invalid_unicode_at
from eligo.notices import WarningKind
from eligo.paths import EXAMPLES_DIR

INDEX = dt.date(2026, 12, 1)
ELIGIBLE: dict[str, Any] = json.loads((EXAMPLES_DIR / "eligible.json").read_text(encoding="utf-8"))


def eligible() -> dict[str, Any]:
    return copy.deepcopy(ELIGIBLE)


def resource(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == rid)


def write(tmp_path: Path, doc: Any, name: str = "patient.json") -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(doc), encoding="utf-8")
    return f


def screen(screener: Screener, tmp_path: Path, bundle: dict[str, Any]) -> Screening:
    return screener.check(write(tmp_path, bundle), index_date=INDEX)


def cli(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    code = main(["check", str(path), "--index-date", INDEX.isoformat(), "--format", "json"])
    out, err = capsys.readouterr()
    return int(code), out, err


def assert_one_line_error(code: int, err: str, path: Path, *needles: str) -> None:
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"eligo: error: {path}: "), err
    for needle in needles:
        assert needle in err, (needle, err)


def test_the_base_patient_is_eligible(screener: Screener, tmp_path: Path) -> None:
    assert screen(screener, tmp_path, eligible()).verdict is Verdict.ELIGIBLE


# ------------------------------------------------------------------ unreadable files: exit 2
def test_malformed_json_names_line_and_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{"resourceType": "Bundle",\n "type": "collection",\n "entry": [ {"resource": } ]}', encoding="utf-8")
    assert_one_line_error(*cli(capsys, f)[::2], f, "malformed JSON at line 3, column")


@pytest.mark.parametrize(("suffix", "content", "needle"), [
    (".ttl", '@prefix eligo: <https://eligo.dev/ns#> .\n<urn:p> a eligo:Patient ;\n  eligo:sourceId "P/1"\n'
             '<urn:o> a eligo:Observation .\n', "malformed turtle at line 4"),
    (".nt", '<urn:p> <urn:x> "a" .\n<urn:p> <urn:y> .\n', "malformed nt at line 2"),
    (".rdf", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
             '<rdf:Description>\n</rdf:RDF>\n', "malformed xml at line 4, column 2"),
    (".jsonld", '{"@id":\n', "malformed json-ld at line 2, column 1"),
])
def test_malformed_rdf_names_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str,
                                      content: str, needle: str) -> None:
    f = tmp_path / f"p{suffix}"
    f.write_text(content, encoding="utf-8")
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, needle)


@pytest.mark.parametrize("suffix", [".json", ".ttl", ".ndjson", ".nt"])
def test_empty_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str) -> None:
    f = tmp_path / f"p{suffix}"
    f.write_bytes(b"  \n")
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, "the file is empty")


@pytest.mark.parametrize(("suffix", "data"), [
    (".json", b'{"resourceType": "Patient",\n "id": "caf\xe9"}'),
    (".ttl", b'@prefix eligo: <https://eligo.dev/ns#> .\n<urn:p> eligo:sourceId "\xff" .'),
])
def test_non_utf8_bytes(capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str, data: bytes) -> None:
    f = tmp_path / f"p{suffix}"
    f.write_bytes(data)
    bad = next(i for i, b in enumerate(data) if b >= 0x80)
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, f"not UTF-8 text (byte {bad}, line 2)")


def test_huge_single_file_is_refused_before_reading(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A 200 MB patient file: refused from its size alone (a sparse file, so nothing is allocated)."""
    f = tmp_path / "export.json"
    with f.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, "the file is 200 MB", "at most 64 MB", "eligo screen")


@pytest.mark.parametrize(("text", "needle"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"resourceType": "Patient", "id": "p", "n": ' + "9" * 5000 + "}", "unreadable JSON"),
    ('{"resourceType": "Patient", "id": "\\ud800"}', "not valid Unicode"),
])
def test_pathological_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "p.json"
    f.write_text(text, encoding="utf-8")
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, needle)


_json_strings = st.text(st.characters(codec=None, exclude_categories=()), max_size=6) | st.sampled_from(
    ["\ud800", "\udfff", "a\udc00b", "\U0001f600", "\\ud800", "é"])
_json_docs = st.recursive(st.none() | st.booleans() | st.integers() | _json_strings,
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_json_strings, inner, max_size=4),
                          max_leaves=12)


@settings(max_examples=200)
@given(doc=_json_docs, ascii_only=st.booleans())
def test_unicode_check_skips_the_walk_only_when_no_string_can_hold_a_surrogate(doc: Any, ascii_only: bool) -> None:
    """The readers pass the JSON text to ``invalid_unicode_at``, which then skips walking the document when
    the text neither holds nor escapes a surrogate: with or without the text it finds the same place."""
    text = json.dumps(doc, ensure_ascii=ascii_only)
    assert invalid_unicode_at(json.loads(text), text=text) == invalid_unicode_at(doc)


def test_bundle_entry_that_is_not_a_resource_refuses_the_file(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    """An entry eligo cannot read at all could be an exclusion: no verdict rather than a wrong one."""
    b = eligible()
    b["entry"][3] = {"resource": {"id": "x", "status": "final"}}
    f = write(tmp_path, b)
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, "entry 3", "no resourceType", "fix or remove it")


def test_two_different_patients_with_one_id(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    b = eligible()
    other = copy.deepcopy(b["entry"][0])
    other["resource"]["birthDate"] = "1990-01-01"
    b["entry"].append(other)
    f = write(tmp_path, b)
    with pytest.raises(PatientGraphError, match="Patient/eligible appears 2 times with different content"):
        read_patient(f)
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, "keep one version")


def test_remote_json_ld_context_is_not_fetched(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "p.jsonld"
    f.write_text('{"@context": "https://example.org/context.jsonld", "@id": "urn:p"}', encoding="utf-8")
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, "remote @context", "inline")


# ------------------------------------------------------------------ readable, unusable: unknown + reason
@pytest.mark.parametrize(("rid", "edit", "criterion", "needle"), [
    # a string where a Quantity belongs
    ("lvef", {"valueQuantity": "58 %"}, "IN11", "valueQuantity '58 %' is not a Quantity"),
    # impossible values
    ("lvef", {"valueQuantity": {"value": 150, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}},
     "IN11", "150 % is outside the plausible range 0 to 100 %"),
    ("anc", {"valueQuantity": {"value": -1.2, "unit": "10*9/L", "system": "http://unitsofmeasure.org",
                               "code": "10*9/L"}}, "IN12", "-1.2 10*9/L is outside the plausible range"),
    ("ecog", {"valueInteger": 7}, "IN08", "ECOG performance status score 7 is outside the plausible range 0 to 5"),
    ("weight", {"valueQuantity": {"value": 6400, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}},
     "IN12", "body weight 6400 kg is outside the plausible range 10 to 500 kg"),
    # numbers that are not numbers
    ("lvef", {"valueQuantity": {"value": "NaN", "unit": "%"}}, "IN11", "is not a number"),
    ("lvef", {"valueQuantity": {"value": "1e999999", "unit": "%"}}, "IN11", "not a number of any measurable size"),
    # an unconvertible unit
    ("haemoglobin", {"valueQuantity": {"value": 11.8, "unit": "furlongs", "system": "http://unitsofmeasure.org",
                                       "code": "[fur_us]"}}, "IN12", "unit '[fur_us]' cannot be converted"),
    # a date that is not a date: the record cannot be placed in the window
    ("lvef", {"effectiveDateTime": "2026-13-45"}, "IN11", "effectiveDateTime '2026-13-45' is not a FHIR date"),
    # an unknown code: the record is not recognised as an ECOG at all
    ("ecog", {"code": {"coding": [{"system": "http://loinc.org", "code": "99999-9"}]}}, "IN08", None),
    # a code that is not a CodeableConcept
    ("ecog", {"code": "89247-1"}, "IN08", None),
])
def test_unusable_record_makes_its_criterion_unknown(screener: Screener, tmp_path: Path, rid: str,
                                                    edit: dict[str, Any], criterion: str, needle: str | None) -> None:
    b = eligible()
    r = resource(b, rid)
    r.pop("valueQuantity", None)
    r.pop("valueInteger", None)
    r.update(edit)
    s = screen(screener, tmp_path, b)
    result = s.result(criterion)
    assert result.outcome.value == "unknown", result.reason
    assert s.verdict is Verdict.NEEDS_DATA
    assert result.needs
    if needle is not None:
        assert f"Observation/{rid}" in result.reason and needle in result.reason, result.reason
        assert any(needle in n for n in result.needs)
    assert any(w.record == f"Observation/{rid}" for w in s.warnings), s.warnings


@pytest.mark.parametrize(("birth", "needle"), [
    ("2027-03-01", "birth date 2027-03-01 is after the index date 2026-12-01"),
    ("1850-06-01", "gives an age of 176 years"),
    ("1978-02-30", "unreadable"),
])
def test_impossible_birth_date(screener: Screener, tmp_path: Path, birth: str, needle: str) -> None:
    b = eligible()
    b["entry"][0]["resource"]["birthDate"] = birth
    s = screen(screener, tmp_path, b)
    in02 = s.result("IN02")
    assert in02.outcome.value == "unknown"
    assert s.verdict is Verdict.NEEDS_DATA
    assert any(w.record == "Patient/eligible" and (needle in w.text or "not a FHIR date" in w.text)
               for w in s.warnings), s.warnings
    if needle != "unreadable":
        assert "Patient/eligible" in in02.reason and needle in in02.reason, in02.reason


def test_record_dated_after_the_index_date_is_not_used(screener: Screener, tmp_path: Path) -> None:
    b = eligible()
    resource(b, "lvef")["effectiveDateTime"] = "2026-12-05"
    s = screen(screener, tmp_path, b)
    assert s.result("IN11").outcome.value == "unknown"
    assert s.verdict is Verdict.NEEDS_DATA
    assert [str(w) for w in s.warnings if w.kind is WarningKind.AFTER_INDEX_DATE] == [
        "Observation/lvef is dated 2026-12-05, after the index date 2026-12-01, and was not used"]


def test_unknown_code_is_reported(screener: Screener, tmp_path: Path) -> None:
    b = eligible()
    resource(b, "ecog")["code"] = {"coding": [{"system": "http://loinc.org", "code": "99999-9"}]}
    s = screen(screener, tmp_path, b)
    assert any(w.kind is WarningKind.UNRECOGNISED_CODE and w.record == "Observation/ecog"
               and str(w).startswith("Observation/ecog: unrecognised code http://loinc.org/rdf/99999-9")
               for w in s.warnings), s.warnings


def test_undatable_live_vaccine_does_not_drift_to_eligible(screener: Screener, tmp_path: Path) -> None:
    """An exclusion record whose date cannot be read: the exclusion is unknown, not met."""
    b = eligible()
    b["entry"].append({"resource": {
        "resourceType": "Immunization", "id": "mmr", "status": "completed",
        "patient": {"reference": "Patient/eligible"},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
        "occurrenceDateTime": "2026-11-31"}})
    s = screen(screener, tmp_path, b)
    ex08 = s.result("EX08")
    assert ex08.outcome.value == "unknown" and s.verdict is Verdict.NEEDS_DATA
    assert "Immunization/mmr" in ex08.reason and "2026-11-31" in ex08.reason, ex08.reason


def test_placeholder_end_date_far_in_the_future(screener: Screener, tmp_path: Path) -> None:
    """Bug found by fuzzing: an end date of 9999-12-31 (a common 'no end' placeholder) made the 6-month
    early-relapse arithmetic leave the calendar and crash. It is now an unbound date, the patient is screened."""
    b = eligible()
    for rid in ("docetaxel", "trastuzumab", "pertuzumab"):
        resource(b, rid)["effectivePeriod"]["end"] = "9999-12-31"
        resource(b, rid)["status"] = "completed"
    s = screen(screener, tmp_path, b)
    assert s.result("IN05").outcome.value in {"met", "not-met", "unknown"}


# ------------------------------------------------------------------ duplicates and references
def test_identical_duplicate_is_read_once(screener: Screener, tmp_path: Path) -> None:
    b = eligible()
    b["entry"].append(copy.deepcopy(next(e for e in b["entry"] if e["resource"]["id"] == "lvef")))
    s = screen(screener, tmp_path, b)
    assert s.verdict is Verdict.ELIGIBLE
    assert [str(w) for w in s.warnings if w.kind is WarningKind.DUPLICATE_RESOURCES] == [
        "Observation/lvef: 1 identical duplicate(s) in the input; read once"]


def test_different_resources_sharing_an_id_are_all_read_in_any_order(screener: Screener, tmp_path: Path) -> None:
    """Two different LVEFs under one id: both count (the lower decides), whichever comes first."""
    b = eligible()
    low = copy.deepcopy(next(e for e in b["entry"] if e["resource"]["id"] == "lvef"))
    low["resource"]["valueQuantity"]["value"] = 40
    b["entry"].append(low)
    s = screen(screener, tmp_path, b)
    assert s.result("IN11").outcome.value == "not-met"
    assert any(w.kind is WarningKind.DUPLICATE_RESOURCES
               and str(w).startswith("Observation/lvef: 2 different resources share this id") for w in s.warnings)
    b["entry"].reverse()
    again = screen(screener, tmp_path, b)
    assert (again.verdict, again.result("IN11").outcome, again.result("IN11").reason) == (
        s.verdict, s.result("IN11").outcome, s.result("IN11").reason)


def test_reference_to_a_missing_medication(screener: Screener, tmp_path: Path) -> None:
    b = eligible()
    doce = resource(b, "docetaxel")
    del doce["medicationCodeableConcept"]
    doce["medicationReference"] = {"reference": "Medication/not-in-the-export"}
    s = screen(screener, tmp_path, b)
    assert s.verdict is not Verdict.ELIGIBLE
    assert any(w.kind is WarningKind.UNRESOLVED_REFERENCE and w.record == "MedicationStatement/docetaxel"
               and "medicationReference 'Medication/not-in-the-export' does not resolve" in w.text
               for w in s.warnings), s.warnings


def test_record_of_another_patient_is_not_used(screener: Screener, tmp_path: Path) -> None:
    b = eligible()
    resource(b, "lvef")["subject"] = {"reference": "Patient/someone-else"}
    s = screen(screener, tmp_path, b)
    assert s.result("IN11").outcome.value == "unknown"
    assert any(w.kind is WarningKind.NOT_THE_PATIENTS and "Observation/lvef" in str(w)
               and "refers to Patient/someone-else" in str(w) for w in s.warnings)


# ------------------------------------------------------------------ populations: no patient lost, none guessed
def _export(tmp_path: Path, lines: dict[str, list[bytes]]) -> Path:
    folder = tmp_path / "bulk"
    folder.mkdir()
    for name, content in lines.items():
        (folder / name).write_bytes(b"".join(line + b"\n" for line in content))
    return folder


def _patient(pid: str) -> bytes:
    return json.dumps({"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1970-01-01"}).encode()


def _obs(oid: str, pid: str) -> bytes:
    return json.dumps({"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference":
                       f"Patient/{pid}"}, "code": {"coding": [{"system": "http://loinc.org", "code": "10230-1"}]},
                       "effectiveDateTime": "2026-11-20", "valueQuantity": {"value": 60, "unit": "%"}}).encode()


def test_unreadable_lines_stop_only_the_patient_they_name(tmp_path: Path) -> None:
    folder = _export(tmp_path, {
        "Patient.ndjson": [_patient("a"), _patient("b"), _patient("c"), _patient("d")],
        "Observation.ndjson": [
            _obs("a1", "a"),
            b'{"resourceType": "Observation", "id": "b1", "subject": {"reference": "Patient/b"}, "valueQuantity": ',
            _obs("c1", "c").replace(b"60", b"6\xff0"),
            b'{"resourceType": "Observation", "id": "zz", ',
        ],
    })
    items = list(discover([folder]))
    units = {i.key for i in items if isinstance(i, Unit)}
    problems = [i for i in items if isinstance(i, InputProblem)]
    assert units == {"Patient/a", "Patient/d"}
    text = "\n".join(f"{p.source}: {p.message}" for p in problems)
    assert f"{folder / 'Observation.ndjson'} line 2: malformed JSON" in text
    assert f"{folder / 'Observation.ndjson'} line 3: not UTF-8 text" in text
    assert f"{folder / 'Observation.ndjson'} line 4: malformed JSON" in text  # names no patient: reported alone
    assert f"Patient/b: Patient/b was not screened: {folder / 'Observation.ndjson'} line 2 could not be read" in text
    assert "Patient/c: Patient/c was not screened" in text
    kinds = {p.source: p.kind for p in problems}
    assert kinds[f"{folder / 'Observation.ndjson'} line 2"] is WarningKind.MALFORMED_LINE
    assert kinds["Patient/b"] is kinds["Patient/c"] is WarningKind.PATIENT_NOT_SCREENED


def test_conflicting_copies_of_a_patient_are_not_screened(tmp_path: Path) -> None:
    changed = json.loads(_patient("a"))
    changed["birthDate"] = "2001-01-01"
    folder = _export(tmp_path, {"Patient.ndjson": [_patient("a"), _patient("b"), _patient("b"),
                                                  json.dumps(changed).encode()]})
    items = list(discover([folder]))
    assert {i.key for i in items if isinstance(i, Unit)} == {"Patient/b"}
    problems = [i for i in items if isinstance(i, InputProblem)]
    assert any("an identical copy of Patient/b; read once" in p.message and p.kind is WarningKind.DUPLICATE_RESOURCES
               for p in problems)
    assert any("Patient/a appears at" in p.message and "line 1" in p.message and "line 4" in p.message
               and "keep one version" in p.message and p.kind is WarningKind.PATIENT_NOT_SCREENED for p in problems)


def test_overlong_line_and_oversized_document_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits that keep memory bounded (16 MB per line, 64 MB per document), shrunk for the test."""
    import eligo.ingest as ingest
    import eligo.ingest.ndjson as ndjson

    monkeypatch.setattr(ndjson, "MAX_LINE_BYTES", 400)
    monkeypatch.setattr(ingest, "MAX_DOCUMENT_BYTES", 300)
    padded = json.loads(_obs("a2", "a"))
    padded["note"] = [{"text": "x" * 1000}]
    folder = _export(tmp_path, {"Patient.ndjson": [_patient("a"), _patient("b")],
                                "Observation.ndjson": [_obs("b1", "b"), json.dumps(padded).encode()]})
    (folder / "bundle.json").write_text(json.dumps(ELIGIBLE), encoding="utf-8")
    items = list(discover([folder]))
    assert {i.key for i in items if isinstance(i, Unit)} == {"Patient/b"}
    text = "\n".join(f"{i.source}: {i.message}" for i in items if isinstance(i, InputProblem))
    assert "line 2: the line is longer than" in text
    assert "Patient/a was not screened" in text
    assert f"{folder / 'bundle.json'}: the file is 0 MB; a single JSON or RDF document is read whole" in text


def test_unreadable_file_in_an_export_stops_everyone(tmp_path: Path) -> None:
    folder = _export(tmp_path, {"Patient.ndjson": [_patient("a")], "Observation.ndjson": [_obs("a1", "a")]})
    (folder / "Immunization.ndjson").mkdir()  # a "file" that cannot be read
    items = list(discover([folder]))
    assert not [i for i in items if isinstance(i, Unit)]
    assert any("Patient/a was not screened: eligo could not read" in i.message and "Immunization.ndjson" in i.message
               for i in items if isinstance(i, InputProblem))


def test_feeding_the_workers_is_bounded(trial, terms) -> None:
    """The pool is handed at most workers x IN_FLIGHT_PER_WORKER patients ahead of the results, so a
    population of any size is never held in memory at once."""
    from eligo.authoring.synth import generate
    from eligo.population.executors import IN_FLIGHT_PER_WORKER, rows_pool, tasks

    units = [Unit(f"Patient/{p.patient_id}", "test", UnitKind.FHIR,
                  json.dumps([e["resource"] for e in p.bundle["entry"]]))
             for p in generate(40, seed=5, trial=trial, terms=terms, index_date=INDEX)]
    taken = 0

    def feed():
        nonlocal taken
        for u in units:
            taken += 1
            yield u

    ahead = []
    rows = 0
    for row in rows_pool(tasks(feed(), 1), 2, index_date=INDEX, trial="tdxd-her2-liquid-biopsy"):
        rows += 1
        ahead.append(taken - rows)
        assert row.error is None, row.error
    assert rows == len(units)
    assert max(ahead) <= 2 * IN_FLIGHT_PER_WORKER


def test_huge_bundle_through_the_library_api(screener: Screener, tmp_path: Path) -> None:
    f = tmp_path / "big.ttl"
    with f.open("wb") as fh:
        fh.truncate(65 * 1024 * 1024)
    with pytest.raises(InputError, match="the file is 65 MB"):
        screener.check(f, index_date=INDEX)


def test_rdf_boolean_that_is_not_a_boolean_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """rdflib reads "yes"^^xsd:boolean as false (and rewrites it so): "symptomatic: yes" would become a
    favourable "no". Found while fuzzing; the file is refused with the line."""
    f = tmp_path / "p.ttl"
    f.write_text('@prefix eligo: <https://eligo.dev/ns#> .\n'
                 '@prefix ecode: <https://eligo.dev/fhir/CodeSystem/eligo#> .\n'
                 '@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
                 '<urn:p> a eligo:Patient ; eligo:sourceId "Patient/p" .\n'
                 '<urn:a> a eligo:Attestation ; eligo:subject <urn:p> ; eligo:sourceId "Observation/sym" ;\n'
                 '  eligo:code ecode:brain-metastases-symptomatic ; eligo:valueBoolean "yes"^^xsd:boolean .\n',
                 encoding="utf-8")
    code, _out, err = cli(capsys, f)
    assert_one_line_error(code, err, f, "'yes' is not an xsd:boolean", "at line 6")  # the 6th line above


def test_an_export_brings_every_medication_its_records_refer_to_however_the_key_is_written(tmp_path: Path) -> None:
    """The NDJSON reader passes a patient's lines to the mapping as they are written and reads only those
    that can refer to a Medication. A key written with JSON escapes (``"medication\\u0052eference"`` is
    ``medicationReference``) must not hide the Medication, nor must an ingredient's ``itemReference``."""
    def statement(sid: str, key: str, med: str) -> bytes:
        text = json.dumps({"resourceType": "MedicationStatement", "id": sid, "status": "active",
                           "subject": {"reference": "Patient/a"}, "effectiveDateTime": "2026-11-20",
                           "medicationReference": {"reference": f"Medication/{med}"}})
        return text.replace('"medicationReference"', key).encode()

    def medication(mid: str, ingredient: str | None = None) -> bytes:
        doc: dict[str, Any] = {"resourceType": "Medication", "id": mid,
                               "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                    "code": mid}]}}
        if ingredient is not None:
            doc["ingredient"] = [{"itemReference": {"reference": f"Medication/{ingredient}"}}]
        return json.dumps(doc).encode()

    folder = _export(tmp_path, {
        "Patient.ndjson": [b"\xef\xbb\xbf" + _patient("a")],  # a byte-order mark on the first line
        "MedicationStatement.ndjson": [statement("s1", '"medicationReference"', "m1"),
                                       statement("s2", '"medication\\u0052eference"', "m2")],
        "Medication.ndjson": [medication("m1", ingredient="m3"), medication("m2"), medication("m3"),
                              medication("unused")],
    })
    [unit] = [u for u in discover([folder]) if isinstance(u, Unit)]
    resources = json.loads(unit.payload)
    assert sorted((r["resourceType"], r["id"]) for r in resources) == [
        ("Medication", "m1"), ("Medication", "m2"), ("Medication", "m3"),
        ("MedicationStatement", "s1"), ("MedicationStatement", "s2"), ("Patient", "a")]
