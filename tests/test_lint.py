"""`eligo shapes lint`: clean on every trial, and each check really fires."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import TRIALS
from eligo.authoring.catalogue import render_markdown
from eligo.authoring.datareq import render_data_requirements
from eligo.authoring.lint import CHECKS, lint, parameter_text_checks
from eligo.cli import main
from eligo.errors import TrialError
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
    "parameter-text": lambda f: _replace(f / "IN12-organ-function.ttl", "No platelet count within {labWindow}",
                                         "No platelet count within 14 days"),
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


def test_parameter_text_flags_restated_values_with_file_and_line(tmp_path: Path) -> None:
    def edit(f: Path) -> None:
        _replace(f / "IN12-organ-function.ttl", "No platelet count within {labWindow}",
                 "No platelet count within 14 days")
        _replace(f / "IN12-organ-function.ttl", "below {ancMin}", "below 1.5 x10^9/L")
        _replace(f / "IN02-age.ttl", "Younger than {adultAge.value}", "Younger than 18")
        _replace(f / "IN11-lvef.ttl", "below {lvefMin}", "below 15% (IHC 3+, LOINC 2164-2, unit 1)")  # no values
    folder = broken_copy(tmp_path, edit)
    hits = {(h.file.name if h.file else None, h.line, h.message) for h in parameter_text_checks(folder)}
    lines = (folder / "IN12-organ-function.ttl").read_text(encoding="utf-8").splitlines()
    platelet_line = next(i for i, t in enumerate(lines, 1) if "No platelet count within 14 days" in t)
    assert any(n == "IN12-organ-function.ttl" and ln == platelet_line and "'14 days'" in m and "{labWindow}" in m
               for n, ln, m in hits), hits
    assert any("'1.5 x10^9/L'" in m and "{ancMin}" in m for _n, _l, m in hits)
    assert any(n == "IN02-age.ttl" and "'18'" in m and "{adultAge.value}" in m for n, _l, m in hits)
    assert not any(n == "IN11-lvef.ttl" for n, _l, _m in hits), hits
    assert len(hits) == 3, hits


def test_parameter_text_flags_an_unknown_placeholder_which_the_loader_refuses(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: _replace(f / "IN11-lvef.ttl", "{lvefMin}", "{lvefMinimum}"))
    hits = [h for h in lint(folder) if h.check == "parameter-text"]
    assert hits and hits[0].file is not None and hits[0].file.name == "IN11-lvef.ttl" and hits[0].line
    assert "{lvefMinimum} names no parameter" in hits[0].message
    with pytest.raises(TrialError, match=r"lvefMinimum.*did you mean \{lvefMin\}") as exc:
        Trial.load(folder)
    assert exc.value.source is not None and Path(exc.value.source).name == "IN11-lvef.ttl"
