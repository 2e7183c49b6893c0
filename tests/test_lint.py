"""`eligo shapes lint`: clean on every trial, and each check really fires."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import TRIALS
from eligo.catalogue import render_markdown
from eligo.cli import main
from eligo.datareq import render_data_requirements
from eligo.lint import CHECKS, lint
from eligo.paths import DEFAULT_TRIAL, PROJECT_ROOT, SHAPES_DIR
from eligo.terms import TermModule
from eligo.trial import Trial


@pytest.mark.parametrize("trial_id", TRIALS)
def test_every_trial_is_lint_clean(trial_id: str) -> None:
    findings = lint(SHAPES_DIR / trial_id)
    assert not findings, "\n".join(f.render(PROJECT_ROOT) for f in findings)


@pytest.mark.parametrize("trial_id", TRIALS)
def test_committed_catalogue_and_data_requirements_are_fresh(trial_id: str, terms: TermModule) -> None:
    suffix = "" if trial_id == DEFAULT_TRIAL else f"-{trial_id}"
    trial = Trial.load(trial_id)
    for name, text in ((f"criteria{suffix}.md", render_markdown(trial, terms)),
                       (f"data-requirements{suffix}.md", render_data_requirements(trial, terms))):
        committed = (PROJECT_ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == text, f"docs/{name} is stale: run `eligo shapes docs {trial_id}` and commit the result"


def broken_copy(tmp_path: Path, edit) -> Path:
    folder = tmp_path / DEFAULT_TRIAL
    shutil.copytree(SHAPES_DIR / DEFAULT_TRIAL, folder)
    edit(folder)
    return folder


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BREAKAGES = {
    "criterion-id": lambda f: _replace(f / "IN02-age.ttl", 'eligo:criterionId "IN02" ;', ""),
    "term-exists": lambda f: _replace(f / "IN01-informed-consent.ttl", "ecode:informed-consent",
                                      "ecode:informed-consnet"),
    "criterion-text": lambda f: _replace(f / "IN09-life-expectancy.ttl", "Life expectancy", "Life-expectancy"),
    "shape-target": lambda f: _replace(f / "IN15-liquid-biopsy-consent.ttl", "sh:targetClass eligo:Patient ;", ""),
    "parameter-used": lambda f: (f / "parameters.ttl").open("a").write(
        '\ntdxd:unusedThing a eligo:Parameter ; eligo:value 1 ; eligo:provenance "test" .\n'),
    "parameter-defined": lambda f: _replace(f / "IN09-life-expectancy.ttl",
                                            "sh:minExclusive tdxd:lifeExpectancyMinWeeks",
                                            "sh:minExclusive tdxd:lifeExpectancyTypo"),
    "fixtures": lambda f: (f / "fixtures" / "IN15.toml").unlink(),
    "outcome-mapping": lambda f: _replace(f / "IN09-life-expectancy.ttl", "eligo:NotMet, ", ""),
    "criterion-attestation": lambda f: _replace(f / "IN01-informed-consent.ttl", "eligo:attestation true ;", ""),
    "shacl-shacl": lambda f: _replace(f / "IN15-liquid-biopsy-consent.ttl", "sh:minCount 1", 'sh:minCount "one"'),
}


def test_each_check_fires_on_a_broken_folder(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: [edit(f) for edit in BREAKAGES.values()])
    findings = lint(folder)
    for check in BREAKAGES:
        assert check in CHECKS
        hits = [f for f in findings if f.check == check]
        assert hits, f"{check} did not fire: {[f.render() for f in findings]}"
        assert check == "shacl-shacl" or all(h.file is not None for h in hits), hits


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: (f / "IN02-age.ttl").open("a").write("\nthis is not turtle .\n"))
    hits = [f for f in lint(folder) if f.check == "parse"]
    assert hits and hits[0].file is not None and hits[0].file.name == "IN02-age.ttl" and hits[0].line


def test_missing_id_and_unknown_term_name_file_and_line(tmp_path: Path, capsys) -> None:
    def edit(f: Path) -> None:
        _replace(f / "IN02-age.ttl", 'eligo:criterionId "IN02" ;', "")
        _replace(f / "IN01-informed-consent.ttl", "ecode:informed-consent", "ecode:informed-consnet")
    folder = broken_copy(tmp_path, edit)
    assert main(["shapes", "lint", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "IN02-age.ttl:" in out and "[criterion-id]" in out
    assert "IN01-informed-consent.ttl:" in out and "informed-consnet" in out


def test_lint_exit_codes(capsys) -> None:
    assert main(["shapes", "lint", "--list"]) == 0
    assert main(["shapes", "lint", "no-such-trial"]) == 2


def test_unknown_term_in_a_property_shape_names_its_file(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: _replace(f / "IN11-lvef.ttl", "sh:path",
                                                      "sh:class eterm:NoSuchThing ; sh:path"))
    hits = [f for f in lint(folder) if f.check == "term-exists" and "NoSuchThing" in f.message]
    assert hits and hits[0].file is not None and hits[0].file.name == "IN11-lvef.ttl"
