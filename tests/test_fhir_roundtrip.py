"""Every RDF fixture, written as a FHIR Bundle and read back, gives the same outcome.

This runs each criterion's fixtures through the FHIR reader, so every outcome
of every criterion is also tested on FHIR input, and proves the FHIR and RDF
forms of a patient are judged identically.
"""

from __future__ import annotations

import json

import pytest

from eligo import Screener
from eligo.ingest.fhir_export import to_bundle
from eligo.ingest.fhir_json import resources_from_document
from eligo.ingest.fhir_map import map_patient
from eligo.notices import WarningKind
from test_fixtures import FIXTURES, Fixture


@pytest.mark.parametrize(("trial_id", "fx"), FIXTURES, ids=[f"{t}:{fx.id}" for t, fx in FIXTURES])
def test_fhir_form_gives_same_outcome(trial_id: str, fx: Fixture, screeners: dict[str, Screener]) -> None:
    screener = screeners[trial_id]
    rdf_graph = fx.graph()
    bundle = json.loads(json.dumps(to_bundle(rdf_graph)))  # through real JSON text
    mapped = map_patient(list(resources_from_document(bundle, f"{fx.id}.json")), source=fx.id)
    assert not [w for w in mapped.warnings
                if w.kind in (WarningKind.RESOURCE_TYPE_NOT_READ, WarningKind.NOT_THE_PATIENTS)], mapped.warnings
    via_rdf = screener.check(rdf_graph, index_date=fx.index_date, criteria=[fx.criterion]).result(fx.criterion)
    via_fhir = screener.check(mapped.graph, index_date=fx.index_date, criteria=[fx.criterion]).result(fx.criterion)
    assert via_fhir.outcome is fx.expect, f"{fx.note}\nFHIR reason: {via_fhir.reason}"
    assert via_fhir.outcome is via_rdf.outcome
    assert {e.source_id for e in via_fhir.evidence} == {e.source_id for e in via_rdf.evidence}
