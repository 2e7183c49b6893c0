"""docs/errors.md is generated from the exception hierarchy and the messages in the source, and complete."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

from eligo import Screener
from eligo.authoring.errordocs import DOC, exception_classes, raise_sites, render, warning_sites
from eligo.notices import DataWarning, WarningKind
from eligo.paths import EXAMPLES_DIR


def test_the_page_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/errors.md is stale: run `python -m eligo.authoring.errordocs`"


def test_every_error_class_says_what_it_means_and_what_to_do() -> None:
    classes = exception_classes()
    assert len(classes) >= 8
    for cls in classes:
        assert (cls.__doc__ or "").strip(), f"{cls.__name__} has no docstring (its meaning)"
        assert "action" in vars(cls), f"{cls.__name__} does not say what the user should do (class attribute action)"


def test_every_error_is_raised_with_a_message() -> None:
    sites = raise_sites()
    assert sites
    for site in sites:
        assert re.search("[A-Za-z]{3}", site.template), f"{site.module}:{site.line} raises {site.kind} with no text"


def test_every_warning_site_names_its_kind() -> None:
    """Each DataWarning, InputProblem and batch-row error is created with a literal WarningKind member."""
    sites = warning_sites()
    assert len(sites) > 40
    for site in sites:
        assert site.kind is not None, f"{site.module}:{site.line} creates a {site.call} without a WarningKind.X"
    assert {s.call for s in sites} == {"DataWarning", "InputProblem", "Row"}


def test_every_kind_is_documented_and_emitted() -> None:
    sites = warning_sites()
    for kind in WarningKind:
        assert kind.title and kind.meaning and kind.action and kind.effect, f"{kind.name} is not documented"
        assert any(s.kind is kind for s in sites), f"no site emits {kind.name}"
        assert any(s.kind is kind and s.template for s in sites), f"no message of {kind.name} is written out"


def _as_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in template.split("{…}")) + "$", re.S)


def test_warnings_emitted_in_practice_are_catalogued(screener: Screener, tmp_path: Path) -> None:
    """The static scan finds the messages eligo really emits, under their kinds: screen damaged patients and
    match each warning to a site of its own kind."""
    templates = [(s.kind, _as_regex(s.template)) for s in warning_sites() if s.template is not None]
    bundle = json.loads((EXAMPLES_DIR / "eligible.json").read_text(encoding="utf-8"))
    damaged = copy.deepcopy(bundle)
    by_id = {e["resource"]["id"]: e["resource"] for e in damaged["entry"]}
    by_id["lvef"]["valueQuantity"] = {"value": 150, "unit": "%"}
    by_id["anc"]["valueQuantity"] = "1.5"
    by_id["ecog"]["effectiveDateTime"] = "2026-11-31"
    by_id["haemoglobin"]["valueQuantity"]["code"] = "[fur_us]"
    by_id["weight"]["subject"] = {"reference": "Patient/other"}
    by_id["her2-ihc"]["code"]["coding"].append({"code": "no-system"})
    by_id["qtc-1"]["status"] = "entered-in-error"
    by_id["alt"]["effectiveDateTime"] = "2027-01-01"
    by_id["ast"]["referenceRange"] = [{"high": {"value": 40, "unit": "furlong"}}]
    by_id["docetaxel"].pop("medicationCodeableConcept")
    by_id["docetaxel"]["medicationReference"] = {"reference": "Medication/gone"}
    damaged["entry"].append(copy.deepcopy(damaged["entry"][-1]))
    damaged["entry"].append({"resource": {"resourceType": "FamilyMemberHistory", "id": "f",
                                          "patient": {"reference": "Patient/eligible"}}})
    damaged["entry"][0]["resource"]["birthDate"] = "2030-01-01"
    emitted: list[DataWarning] = []
    for i, doc in enumerate((bundle, damaged)):
        f = tmp_path / f"p{i}.json"
        f.write_text(json.dumps(doc), encoding="utf-8")
        emitted += screener.check(f, index_date=dt.date(2026, 12, 1)).warnings
    assert len(emitted) >= 12
    assert len({w.kind for w in emitted}) >= 10
    for warning in emitted:
        assert any(kind is warning.kind and t.match(str(warning)) for kind, t in templates), \
            f"warning not in the catalogue under {warning.kind.name}: {warning}"
