"""The `eligo check` contract: JSON shape, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eligo.cli import main
from eligo.paths import EXAMPLES_DIR

PATIENT = """@prefix eligo: <https://eligo.dev/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:p> a eligo:Patient ; eligo:sourceId "Patient/123" ; eligo:gender "female" ;
    eligo:birthDate "1970-01-01"^^xsd:date .
"""


@pytest.fixture
def patient_file(tmp_path: Path) -> Path:
    f = tmp_path / "p.ttl"
    f.write_text(PATIENT, encoding="utf-8")
    return f


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return int(code), out, err


def test_json_contract(capsys: pytest.CaptureFixture[str], patient_file: Path, trial) -> None:
    code, out, _ = run(capsys, "check", str(patient_file), "--index-date", "2026-12-01", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"patient", "trial", "index_date", "verdict", "criteria", "warnings"}
    assert doc["patient"] == "Patient/123"
    assert doc["trial"] == "tdxd-her2-liquid-biopsy"
    assert doc["index_date"] == "2026-12-01"
    assert doc["verdict"] in {"eligible", "ineligible", "needs-data", "pending-attestation"}
    assert [c["id"] for c in doc["criteria"]] == [c.id for c in trial.criteria]
    for c in doc["criteria"]:
        assert set(c) == {"id", "kind", "outcome", "attestation", "reason", "needs", "evidence"}
        assert c["kind"] in {"inclusion", "exclusion"}
        assert c["outcome"] in {"met", "not-met", "unknown", "not-applicable"}
        assert isinstance(c["attestation"], bool) and isinstance(c["reason"], str) and c["reason"]
        assert all(isinstance(x, str) for x in c["needs"] + c["evidence"])
        if c["outcome"] == "unknown":
            assert c["needs"], f"{c['id']} is unknown but says nothing about what is needed"
    # a patient with nothing but a birth date can never be eligible
    assert doc["verdict"] != "eligible"


def test_text_output_has_verdict_on_top(capsys: pytest.CaptureFixture[str], patient_file: Path) -> None:
    code, out, _ = run(capsys, "check", str(patient_file), "--index-date", "2026-12-01", "--color", "never")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("Verdict: ")
    assert "IN02" in out and "\033[" not in out


@pytest.mark.parametrize(("content", "message"), [
    ("this is not turtle", "malformed turtle"),
    ("", "empty"),
    ('@prefix eligo: <https://eligo.dev/ns#> . <urn:x> eligo:sourceId "x" .', "no eligo:Patient"),
])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.ttl"
    f.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "check", str(f), "--index-date", "2026-12-01")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(f) in err and message in err
    assert "Traceback" not in err


def test_non_utf8_and_unknown_suffix(capsys, tmp_path: Path) -> None:
    f = tmp_path / "p.ttl"
    f.write_bytes(b"\xff\xfe\x00garbage")
    code, _out, err = run(capsys, "check", str(f), "--index-date", "2026-12-01")
    assert code == 2 and "UTF-8" in err
    g = tmp_path / "p.xyz"
    g.write_text(PATIENT, encoding="utf-8")
    code, _out, err = run(capsys, "check", str(g), "--index-date", "2026-12-01")
    assert code == 2 and "unknown file type" in err


@pytest.mark.parametrize("argv", [
    ["check", "missing.ttl", "--index-date", "2026-12-01"],
    ["check", "x.ttl", "--index-date", "2026-02-30"],
    ["check", "x.ttl"],
    ["frobnicate"],
    ["check", "x.ttl", "--index-date", "2026-12-01", "--trial", "no-such-trial"],
])
def test_usage_errors_exit_2(capsys, argv: list[str]) -> None:
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("eligo: error: ") and len(err.strip().splitlines()) == 1


def test_whole_process_run_on_an_example() -> None:
    example = sorted(EXAMPLES_DIR.glob("*.ttl"))[0]
    proc = subprocess.run([sys.executable, "-m", "eligo", "check", str(example), "--index-date", "2026-12-01",
                           "--format", "json"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"]
