"""A second trial is data only: `shapes/her2-low-example/` works with the existing engine.

The folder holds Turtle, TOML and the protocol text, no Python; the same tools
(`eligo shapes lint|test|docs`, `eligo check --trial`) handle it, and the same
patient gets different results under the two trials.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eligo import Kind, Screener, Trial
from eligo.authoring.fixtures import load_fixtures, run_fixture
from eligo.authoring.lint import lint
from eligo.cli import main
from eligo.model import ELIGO
from eligo.paths import DEFAULT_TRIAL, EXAMPLES_DIR, PROJECT_ROOT, SHAPES_DIR

TRIAL_ID = "her2-low-example"
FOLDER = SHAPES_DIR / TRIAL_ID
INDEX_DATE = "2026-12-01"

# A HER2-low patient: IHC 1+ on the most recent sample, no anti-HER2 therapy.
HER2_LOW_PATIENT = """@prefix eligo: <https://eligo.dev/ns#> .
@prefix loinc: <http://loinc.org/rdf/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:p> a eligo:Patient ; eligo:sourceId "Patient/her2-low" ; eligo:gender "female" ;
    eligo:birthDate "1968-07-21"^^xsd:date .
<urn:ihc> a eligo:Observation ; eligo:subject <urn:p> ; eligo:sourceId "Observation/her2-ihc" ;
    eligo:code loinc:18474-7 ; eligo:date "2026-06-10"^^xsd:date ; eligo:valueString "1+" .
"""


@pytest.fixture(scope="module")
def h2l_trial() -> Trial:
    return Trial.load(TRIAL_ID)


@pytest.fixture(scope="module")
def h2l_screener(screeners: dict[str, Screener]) -> Screener:
    return screeners[TRIAL_ID]


@pytest.fixture
def her2_low_file(tmp_path: Path) -> Path:
    f = tmp_path / "her2-low.ttl"
    f.write_text(HER2_LOW_PATIENT, encoding="utf-8")
    return f


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, _err = capsys.readouterr()
    return int(code), out


def check_json(capsys: pytest.CaptureFixture[str], file: Path, trial: str) -> dict:
    code, out = run(capsys, "check", str(file), "--index-date", INDEX_DATE, "--trial", trial, "--format", "json")
    assert code == 0
    return json.loads(out)


# ------------------------------------------------------------------ the folder is data
def test_folder_is_data_only() -> None:
    suffixes = {p.suffix for p in FOLDER.rglob("*") if p.is_file()}
    assert suffixes <= {".ttl", ".toml", ".txt"}, suffixes


def test_protocol_says_it_is_illustrative(h2l_trial: Trial) -> None:
    first = (FOLDER / "protocol.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#") and "illustrative" in first.lower() and "DESTINY-Breast04" in first
    assert "not registry text" in first.lower()
    assert str(h2l_trial.graph.value(h2l_trial.iri, ELIGO.registryIdStatus)) == "none (illustrative example)"
    assert h2l_trial.graph.value(h2l_trial.iri, ELIGO.registryId) is None


def test_second_trial_loads(h2l_trial: Trial) -> None:
    assert h2l_trial.id == TRIAL_ID
    assert h2l_trial.prefixes == {"h2l": "https://eligo.dev/trial/her2-low-example#"}
    assert [(c.id, c.kind) for c in h2l_trial.criteria] == [
        ("IN01", Kind.INCLUSION), ("IN02", Kind.INCLUSION), ("EX01", Kind.EXCLUSION)]
    assert not any(c.attestation for c in h2l_trial.criteria)
    protocol = (FOLDER / "protocol.txt").read_text(encoding="utf-8")
    assert all(c.protocol_text and c.protocol_text in protocol for c in h2l_trial.criteria)
    # its own parameters, not the first trial's
    assert {str(p).split("#")[-1] for p in h2l_trial.parameters} == {
        "adultAge", "her2RatioPositiveMin", "her2CopyNumberPositiveMin"}
    assert all(str(p).startswith("https://eligo.dev/trial/her2-low-example#") for p in h2l_trial.parameters)


def test_second_trial_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    findings = lint(FOLDER)
    assert not findings, "\n".join(f.render(PROJECT_ROOT) for f in findings)
    code, out = run(capsys, "shapes", "lint", TRIAL_ID)
    assert code == 0 and out.strip().endswith(f"{TRIAL_ID}: clean")


def test_every_fixture_passes(h2l_trial: Trial, h2l_screener: Screener) -> None:
    fixtures = load_fixtures(h2l_trial)
    assert {fx.criterion for fx in fixtures} == {"IN01", "IN02", "EX01"}
    failed = [f"{fx.id}: {r.difference()}" for fx in fixtures if not (r := run_fixture(fx, h2l_screener)).passed]
    assert not failed, "\n".join(failed)
    # every possible outcome of every criterion has a fixture
    for c in h2l_trial.criteria:
        assert {fx.expect for fx in fixtures if fx.criterion == c.id} == set(c.possible_outcomes), c.id


def test_shapes_test_command_passes(capsys: pytest.CaptureFixture[str], h2l_trial: Trial) -> None:
    code, out = run(capsys, "shapes", "test", TRIAL_ID)
    assert code == 0, out
    assert out.strip().endswith(f"{len(load_fixtures(h2l_trial))} passed, 0 failed")


def test_docs_command_writes_the_committed_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "shapes", "docs", TRIAL_ID, "--out", str(tmp_path))
    assert code == 0
    names = [f"criteria-{TRIAL_ID}.md", f"criteria-{TRIAL_ID}.html", f"data-requirements-{TRIAL_ID}.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        assert name in out
        committed = (PROJECT_ROOT / "docs" / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == committed, (
            f"docs/{name} is stale: run `eligo shapes docs {TRIAL_ID}`")


# ------------------------------------------------------------------ eligo check --trial
def test_check_lists_exactly_the_three_criteria(capsys: pytest.CaptureFixture[str], her2_low_file: Path) -> None:
    doc = check_json(capsys, her2_low_file, TRIAL_ID)
    assert doc["trial"] == TRIAL_ID
    assert doc["patient"] == "Patient/her2-low"
    assert [(c["id"], c["kind"]) for c in doc["criteria"]] == [
        ("IN01", "inclusion"), ("IN02", "inclusion"), ("EX01", "exclusion")]
    outcomes = {c["id"]: c["outcome"] for c in doc["criteria"]}
    assert outcomes == {"IN01": "met", "IN02": "met", "EX01": "met"}
    assert doc["verdict"] == "eligible"
    assert {c["id"]: c["evidence"] for c in doc["criteria"]}["IN02"] == ["Observation/her2-ihc"]


def test_same_her2_low_patient_differs_between_trials(capsys: pytest.CaptureFixture[str],
                                                      her2_low_file: Path) -> None:
    low = check_json(capsys, her2_low_file, TRIAL_ID)
    first = check_json(capsys, her2_low_file, DEFAULT_TRIAL)
    assert first["trial"] == DEFAULT_TRIAL and len(first["criteria"]) == 24
    by_id = {c["id"]: c for c in first["criteria"]}
    # IHC 1+ is HER2-negative for the first trial, HER2-low for the second
    assert by_id["IN04"]["outcome"] == "not-met"
    assert {c["id"]: c["outcome"] for c in low["criteria"]}["IN02"] == "met"
    assert first["verdict"] == "ineligible" and low["verdict"] == "eligible"


def test_first_trials_eligible_patient_is_ineligible_here(capsys: pytest.CaptureFixture[str]) -> None:
    """The other direction: HER2-positive after trastuzumab + pertuzumab fits the first trial only."""
    file = EXAMPLES_DIR / "eligible.ttl"
    first = check_json(capsys, file, DEFAULT_TRIAL)
    low = check_json(capsys, file, TRIAL_ID)
    assert first["verdict"] == "eligible"
    assert {c["id"]: c["outcome"] for c in first["criteria"]}["IN04"] == "met"
    outcomes = {c["id"]: c["outcome"] for c in low["criteria"]}
    assert outcomes == {"IN01": "met", "IN02": "not-met", "EX01": "not-met"}
    assert low["verdict"] == "ineligible"
