"""Fuzz targets for the readers: FHIR JSON / NDJSON and RDF (hypothesis).

Whatever bytes a hospital export holds, eligo either screens the patient or
raises one of its own errors (:class:`eligo.errors.EligoError`), whose message
names the file; anything else escaping is a bug. Inputs are real patients
(examples/) mutated at random, plus arbitrary JSON, text and bytes. Example
counts are base counts scaled by the hypothesis profile (tests/conftest.py);
`make fuzz` runs them 20 times longer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligo import Screener
from eligo.errors import EligoError
from eligo.ingest import read_patient
from eligo.ingest.batch import InputProblem, Unit, discover
from eligo.paths import EXAMPLES_DIR

INDEX = dt.date(2026, 12, 1)
EXAMPLE_BUNDLES = {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in sorted(EXAMPLES_DIR.glob("*.json"))}
EXAMPLE_TURTLE = {f.stem: f.read_text(encoding="utf-8") for f in sorted(EXAMPLES_DIR.glob("*.ttl"))}
COUNTS: dict[str, int] = {}  # inputs run per target, printed at the end of the module
pytestmark = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Parsing weird boolean:UserWarning")]


def scaled(base: int) -> int:
    """A test's base example count, scaled by the loaded hypothesis profile (100 = as written)."""
    return max(1, base * settings.default.max_examples // 100)


def count(target: str) -> None:
    COUNTS[target] = COUNTS.get(target, 0) + 1


FOLDER = Path(tempfile.mkdtemp(prefix="eligo-fuzz-"))  # the inputs of this module, removed at its end


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    yield
    shutil.rmtree(FOLDER, ignore_errors=True)
    print("\nfuzz inputs run: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())))


# ----------------------------------------------------------------------------- building blocks
FHIR_KEYS = [
    "resourceType", "id", "subject", "patient", "reference", "code", "coding", "system", "display", "text",
    "valueQuantity", "value", "unit", "comparator", "effectiveDateTime", "effectivePeriod", "effectiveInstant",
    "start", "end", "status", "clinicalStatus", "verificationStatus", "birthDate", "gender", "entry", "resource",
    "fullUrl", "type", "medicationCodeableConcept", "medicationReference", "component", "referenceRange", "high",
    "extension", "url", "valueCodeableConcept", "valueInteger", "valueBoolean", "valueString", "valueDateTime",
    "onsetDateTime", "onsetPeriod", "onsetString", "performedPeriod", "performedDateTime", "occurrenceDateTime",
    "dosage", "route", "bodySite", "contained", "scope", "provision", "category", "dateTime", "authoredOn",
    "issued", "abatementDateTime", "recordedDate", "performer", "vaccineCode", "severity", "reasonCode",
]
INTERESTING = [
    "http://loinc.org", "http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://unitsofmeasure.org", "https://eligo.dev/fhir/CodeSystem/eligo", "http://hl7.org/fhir/sid/cvx",
    "10230-1", "718-7", "89247-1", "8636-3", "2160-0", "224905", "1371041", "254837009", "94225005",
    "informed-consent", "life-expectancy-weeks", "nyha-class",
    "2026-11-20", "2026-11-20T10:00:00Z", "2026-13-45", "0000-01-01", "0001-01-01", "9999-12-31", "2026-02-29",
    "2024-02-29T25:61:00+99:00", "2026", "2026-11", "-2026", "20261120", "2026-11-20T", "1e999", "NaN",
    "Infinity", "-0", "0.000000000000000000001", "Patient", "Observation", "Bundle", "MedicationStatement",
    "MedicationAdministration", "MedicationRequest", "Condition", "Medication", "Consent", "Procedure",
    "Immunization", "Patient/eligible", "Patient/p", "urn:uuid:x", "#med", "Medication/kadcyla", "%", "g/dL",
    "10*9/L", "umol/L", "[fur_us]", "10*", "/0", "((((", "", " ", "\u0000", "\ud800", "é", "\u202e", "active",
    "entered-in-error", "completed", "final", "collection", "transaction",
]
json_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(INTERESTING),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.one_of(st.sampled_from(FHIR_KEYS), st.text(max_size=6)), children, max_size=5),
    max_leaves=25,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node inside a JSON document (keys and list indexes)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def mutated_bundles(draw: st.DrawFn) -> Any:
    """A real example bundle with 1-6 random edits: a value replaced, a key or entry deleted, an entry
    duplicated."""
    doc = json.loads(json.dumps(EXAMPLE_BUNDLES[draw(st.sampled_from(sorted(EXAMPLE_BUNDLES)))]))
    for _ in range(draw(st.integers(1, 6))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate-entry"]))
        if action == "duplicate-entry" and isinstance(doc, dict) and isinstance(doc.get("entry"), list) \
                and doc["entry"]:
            doc["entry"].append(json.loads(json.dumps(draw(st.sampled_from(doc["entry"])))))
            continue
        if action == "delete" and path:
            doc = _set(doc, path, None, delete=True)
        else:
            doc = _set(doc, path, draw(json_values), delete=False)
    return doc


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> bytes:
    """Byte-level damage: truncation, inserted garbage, a bad byte, a deleted span."""
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["truncate", "insert", "badbyte", "delete"]))
        if kind == "truncate":
            data = data[:i]
        elif kind == "insert":
            junk = st.binary(max_size=8) | st.sampled_from([b"{", b"}", b'"', b"]", b",", b"\n", b"@prefix", b"^^",
                                                            b" .", b";"])
            data = data[:i] + draw(junk) + data[i:]
        elif kind == "badbyte":
            data = data[:i] + bytes([draw(st.integers(0x80, 0xFF))]) + data[i + 1:]
        else:
            data = data[:i] + data[i + draw(st.integers(1, 40)):]
    return data


def _write(data: bytes, suffix: str) -> Path:
    """The input as a file (one per suffix, overwritten by each example)."""
    path = FOLDER / f"patient{suffix}"
    path.write_bytes(data)
    return path


def only_eligo_errors(action: Callable[[], object]) -> object | None:
    """Run ``action``; an EligoError is an acceptable answer (and must name something), anything else fails."""
    try:
        return action()
    except EligoError as exc:
        assert str(exc).strip(), "an EligoError with an empty message"
        return None


# ----------------------------------------------------------------------------- FHIR JSON
@settings(max_examples=scaled(250))
@given(doc=st.one_of(mutated_bundles(), json_values))
def test_fuzz_fhir_reader(doc: Any) -> None:
    """The FHIR reader on mutated bundles and arbitrary JSON: a patient or an EligoError."""
    count("fhir-reader")
    path = _write(json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass"), ".json")
    only_eligo_errors(lambda: read_patient(path))


@settings(max_examples=scaled(150))
@given(data=st.sampled_from(sorted(EXAMPLE_BUNDLES)).flatmap(
    lambda name: mutated_text(json.dumps(EXAMPLE_BUNDLES[name], indent=1))))
def test_fuzz_fhir_reader_bytes(data: bytes) -> None:
    """The FHIR reader on damaged bytes (truncated, non-UTF-8, garbage): a patient or an EligoError."""
    count("fhir-reader-bytes")
    path = _write(data, ".json")
    only_eligo_errors(lambda: read_patient(path))


@settings(max_examples=scaled(40))
@given(doc=mutated_bundles())
def test_fuzz_fhir_whole_pipeline(screener: Screener, doc: Any) -> None:
    """Mutated bundles through reading, derivation, validation and verdict."""
    count("fhir-pipeline")
    path = _write(json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass"), ".json")
    patient = only_eligo_errors(lambda: read_patient(path))
    if patient is not None:
        only_eligo_errors(lambda: screener.check(patient, index_date=INDEX))  # type: ignore[arg-type]


@settings(max_examples=scaled(40))
@given(lines=st.lists(st.one_of(mutated_bundles().map(lambda b: json.dumps(b, allow_nan=True)),
                                json_values.map(lambda v: json.dumps(v, allow_nan=True)),
                                st.text(max_size=60)), min_size=1, max_size=8),
       bad_bytes=st.booleans())
def test_fuzz_ndjson_population(lines: list[str], bad_bytes: bool) -> None:
    """The batch reader never raises: every input becomes units or input problems naming the source."""
    count("ndjson-population")
    folder = FOLDER / "bulk"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    body = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8", "surrogatepass")
    if bad_bytes:
        body = body[: len(body) // 2] + b"\xff\xfe" + body[len(body) // 2:]
    (folder / "Observation.ndjson").write_bytes(body)
    (folder / "Patient.ndjson").write_text(json.dumps(EXAMPLE_BUNDLES["eligible"]["entry"][0]["resource"]) + "\n",
                                           encoding="utf-8")
    items = list(discover([folder]))
    for item in items:
        assert isinstance(item, Unit | InputProblem)
        if isinstance(item, InputProblem):
            assert item.source and item.message
        else:
            json.loads(item.payload)


# ----------------------------------------------------------------------------- RDF
LITERAL = re.compile(r'"[^"\n]*"')
DATATYPES = ["xsd:date", "xsd:dateTime", "xsd:gYear", "xsd:gYearMonth", "xsd:decimal", "xsd:integer", "xsd:boolean",
             "xsd:string", "xsd:double", "xsd:duration"]


@st.composite
def mutated_turtle(draw: st.DrawFn) -> bytes:
    """A real example patient in Turtle with literals, datatypes and predicates changed, or damaged bytes."""
    text = EXAMPLE_TURTLE[draw(st.sampled_from(sorted(EXAMPLE_TURTLE)))]
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["literal", "literal", "datatype", "predicate", "drop-line"]))
        if kind == "literal":
            spans = [m.span() for m in LITERAL.finditer(text)]
            if not spans:
                continue
            a, b = draw(st.sampled_from(spans))
            value = draw(st.one_of(st.sampled_from(INTERESTING), st.text(max_size=12)))
            value = value.replace("\\", "").replace('"', "").replace("\n", " ")
            text = text[:a] + json.dumps(value, ensure_ascii=draw(st.booleans())) + text[b:]
        elif kind == "datatype":
            found = [m.span() for m in re.finditer(r"xsd:[A-Za-z]+", text)]
            if found:
                a, b = draw(st.sampled_from(found))
                text = text[:a] + draw(st.sampled_from(DATATYPES)) + text[b:]
        elif kind == "predicate":
            found = [m.span() for m in re.finditer(r"eligo:[a-z][A-Za-z]+", text)]
            if not found:
                continue
            a, b = draw(st.sampled_from(found))
            text = text[:a] + draw(st.sampled_from(["eligo:date", "eligo:value", "eligo:start", "eligo:end",
                                                    "eligo:birthDate", "eligo:unit", "eligo:code",
                                                    "eligo:subject", "eligo:status", "eligo:valueCode"])) + text[b:]
        else:
            lines = text.splitlines()
            if not lines:
                continue
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "\n".join(lines)
    if draw(st.booleans()):
        return text.encode("utf-8", "surrogatepass")
    return draw(mutated_text(text))


@settings(max_examples=scaled(60))
@given(data=mutated_turtle(), suffix=st.sampled_from([".ttl", ".ttl", ".nt", ".jsonld", ".rdf"]))
def test_fuzz_rdf_pipeline(screener: Screener, data: bytes, suffix: str) -> None:
    """The RDF reader, and the engine behind it, on mutated example patients: a screening or an EligoError."""
    count("rdf-pipeline")
    path = _write(data, suffix)
    patient = only_eligo_errors(lambda: read_patient(path))
    if patient is not None:
        only_eligo_errors(lambda: screener.check(patient, index_date=INDEX))  # type: ignore[arg-type]


@settings(max_examples=scaled(150))
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       suffix=st.sampled_from([".ttl", ".nt", ".jsonld", ".rdf", ".json", ".ndjson"]))
def test_fuzz_reader_on_arbitrary_bytes(data: bytes, suffix: str) -> None:
    """Arbitrary bytes under every suffix eligo reads: an EligoError, never a crash."""
    count("arbitrary-bytes")
    path = _write(data, suffix)
    only_eligo_errors(lambda: read_patient(path))
