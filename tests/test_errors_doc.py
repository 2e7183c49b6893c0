"""docs/errors.md is generated from the exception hierarchy and the messages in the source, and complete."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

from eligo import Screener
from eligo.errordocs import DOC, WARNING_KINDS, exception_classes, kinds_of, raise_sites, render, warning_sites
from eligo.paths import EXAMPLES_DIR


def test_the_page_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "docs/errors.md is stale: run `python -m eligo.errordocs`"


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


def test_every_warning_has_exactly_one_documented_kind() -> None:
    sites = warning_sites()
    assert len(sites) > 40
    for site in sites:
        found = [k.name for k in kinds_of(site.template)]
        assert len(found) == 1, f"{site.module}:{site.line} {site.template!r} matches {found or 'no kind'}"
    for kind in WARNING_KINDS:
        assert any(kind in kinds_of(s.template) for s in sites), f"kind {kind.name!r} matches no message"


def _as_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in template.split("{…}")) + "$", re.S)


def test_warnings_emitted_in_practice_are_catalogued(screener: Screener, tmp_path: Path) -> None:
    """The static scan finds the messages eligo really emits: screen damaged patients and match each warning."""
    templates = [_as_regex(s.template) for s in warning_sites()]
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
    emitted: list[str] = []
    for i, doc in enumerate((bundle, damaged)):
        f = tmp_path / f"p{i}.json"
        f.write_text(json.dumps(doc), encoding="utf-8")
        emitted += screener.check(f, index_date=dt.date(2026, 12, 1)).warnings
    assert len(emitted) >= 12
    for warning in emitted:
        assert any(t.match(warning) for t in templates), f"warning not in the catalogue: {warning!r}"
