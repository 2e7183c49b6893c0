"""Texts name parameters ({labWindow}); the trial loader renders them from parameters.ttl."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import SH

from eligo.model import ELIGO
from eligo.placeholders import TEXT_PROPERTIES, render_parameter, render_text, restated_values
from eligo.trial import Parameter, Trial

P = "https://eligo.dev/trial/x#"


def param(name: str, value: object = None, unit: str | None = None, **window: int) -> Parameter:
    return Parameter(URIRef(P + name), name, "test", None if value is None else Literal(value), unit, **window)


@pytest.mark.parametrize(("p", "full", "number"), [
    (param("labWindow", days=14), "14 days", "14"),
    (param("oneDay", days=1), "1 day", "1"),
    (param("miWindow", months=6), "6 months", "6"),
    (param("otherMalignancyWindow", years=3), "3 years", "3"),
    (param("atIndexWindow"), "0 days", "0"),
    (param("ancMin", Literal("1.5").toPython(), "10*9/L"), "1.5 x10^9/L", "1.5"),
    (param("lvefMin", 50, "%"), "50%", "50"),
    (param("hcgNegativeBelow", 5, "m[IU]/mL"), "5 mIU/mL", "5"),
    (param("lifeExpectancyMinWeeks", 12, "wk"), "12 weeks", "12"),
    (param("adultAge", 18, "a"), "18 years", "18"),
    (param("transaminaseMaxUln", 3), "3", "3"),
])
def test_a_parameter_reads_as_the_texts_write_it(p: Parameter, full: str, number: str) -> None:
    assert render_parameter(p) == full
    assert render_parameter(p, number_only=True) == number


def test_render_text_leaves_records_to_the_translator_and_refuses_unknown_names() -> None:
    by_name = {"labWindow": param("labWindow", days=14), "adultAge": param("adultAge", 18, "a")}
    assert render_text("Within {labWindow}, aged {adultAge.value}; see {records}.", by_name) == \
        "Within 14 days, aged 18; see {records}."
    with pytest.raises(KeyError, match="labWindw"):
        render_text("Within {labWindw}.", by_name)


def test_restated_values_know_codes_scores_and_units_from_quantities() -> None:
    params = {p.iri: p for p in (param("labWindow", days=14), param("ecogMax", 1), param("lvefMin", 50, "%"))}
    found = restated_values("Within 14 days, ECOG 0 or 1, LVEF 50%; IHC 1+, LOINC 751-1, unit 1, 14-lead, "
                            "15 days, {labWindow}.", params)
    assert [(r.text, r.parameters) for r in found] == [
        ("14 days", ("labWindow",)), ("1", ("ecogMax",)), ("50%", ("lvefMin",))]


def test_the_loaded_trial_holds_rendered_texts(trial: Trial) -> None:
    for prop in TEXT_PROPERTIES:
        for text in trial.shapes_graph.objects(None, prop):
            assert "{" not in str(text).replace("{records}", ""), text
    messages = {str(m) for m in trial.shapes_graph.objects(None, SH.message)}
    assert "Absolute neutrophil count below 1.5 x10^9/L." in messages
    assert trial.criterion("IN12").met_reason == ("Every laboratory value of the last 14 days is within the limits "
                                                  "for organ and marrow function.")
    needs = {n for m in trial.shape_meanings.values() for n in m.needs}
    assert "A haemoglobin (LOINC 718-7) within 14 days before the index date." in needs
    assert (None, ELIGO.metReason, Literal("Aged 18 or over on the index date.")) in trial.graph
