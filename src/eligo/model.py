"""Namespaces and the fixed vocabulary of the eligo patient model.

The model itself is documented in ``ontology/model.ttl`` and
``docs/authoring.md``; this module only names its IRIs for Python code.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD


class Vocabulary(Namespace):
    """A namespace whose terms are built once: ``ELIGO.date`` then costs an attribute lookup instead of
    a new, validated ``URIRef`` (the mapping and derivation name terms hundreds of times per patient)."""

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):  # pickle, copy and friends probe for special names
            raise AttributeError(name)
        term = self.term(name)
        self.__dict__[name] = term
        return term

    def __getitem__(self, key: str) -> URIRef:  # type: ignore[override]  # str.__getitem__ takes slices
        cached = self.__dict__.get(key)
        if cached is None:
            cached = self.__dict__[key] = self.term(key)
        return cached


#: rdflib's RDF, RDFS and XSD namespaces with each term built once (rdflib's own check every access in
#: Python; the mapping, derivation and translation name ``RDF.type`` and ``XSD.decimal`` endlessly)
RDF_TERMS = Vocabulary(str(RDF))
RDFS_TERMS = Vocabulary(str(RDFS))
XSD_TERMS = Vocabulary(str(XSD))

ELIGO = Vocabulary("https://eligo.dev/ns#")
ETERM = Vocabulary("https://eligo.dev/terms#")
ECODE = Namespace("https://eligo.dev/fhir/CodeSystem/eligo#")
EX = Namespace("https://eligo.dev/example/")

SCT = Namespace("http://snomed.info/id/")
LOINC = Namespace("http://loinc.org/rdf/")
RXNORM = Namespace("http://purl.bioontology.org/ontology/RXNORM/")
ICD10CM = Namespace("http://purl.bioontology.org/ontology/ICD10CM/")
NCIT = Namespace("http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl#")
CVX = Namespace("http://purl.bioontology.org/ontology/CVX/")
ATC = Namespace("http://purl.bioontology.org/ontology/ATC/")
ICDO3 = Namespace("https://eligo.dev/code/icdo3/")
AJCC = Namespace("http://cancerstaging.org#")

#: Prefixes every shapes file, rule and fixture may use without declaring them.
PREFIXES: dict[str, Namespace] = {
    "eligo": ELIGO,
    "eterm": ETERM,
    "ecode": ECODE,
    "ex": EX,
    "sct": SCT,
    "loinc": LOINC,
    "rxnorm": RXNORM,
    "icd10cm": ICD10CM,
    "ncit": NCIT,
    "cvx": CVX,
    "atc": ATC,
    "icdo3": ICDO3,
    "ajcc": AJCC,
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "xsd": Namespace(str(XSD)),
    "owl": Namespace(str(OWL)),
    "sh": Namespace(str(SH)),
}

#: FHIR code-system URIs and the IRI namespace their codes map to.
CODE_SYSTEMS: dict[str, Namespace] = {
    "http://snomed.info/sct": SCT,
    "http://loinc.org": LOINC,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10CM,
    "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl": NCIT,
    "http://hl7.org/fhir/sid/cvx": CVX,
    "http://www.whocc.no/atc": ATC,
    "http://terminology.hl7.org/CodeSystem/icd-o-3": ICDO3,
    "https://eligo.dev/fhir/CodeSystem/eligo": ECODE,
    "http://cancerstaging.org": AJCC,
}

#: Prefixes of the term module: its grouping classes (``eterm:``) and the code systems of its codes.
TERM_PREFIXES = ("eterm", "ecode", "sct", "loinc", "rxnorm", "icd10cm", "ncit", "cvx", "atc", "icdo3", "ajcc")
TERM_NAMESPACES: tuple[str, ...] = tuple(str(PREFIXES[p]) for p in TERM_PREFIXES)

# Record classes of the patient model.
PATIENT = ELIGO.Patient
#: The grouping class of eligo's attestation codes (``ontology/terms/eligo-codes.ttl``): an observation
#: coded under it is a coordinator's statement, which the derivation types ``eligo:Attestation``.
ATTESTATION_TOPIC = ETERM.AttestationTopic
#: The patient's properties through which a criterion reads age (given or derived).
AGE_PROPERTIES = frozenset({ELIGO.birthDate, ELIGO.ageYears, ELIGO.ageYearsMin, ELIGO.ageYearsMax})
RECORD_CLASSES = (
    ELIGO.Condition,
    ELIGO.Observation,
    ELIGO.MedicationExposure,
    ELIGO.Procedure,
    ELIGO.Immunization,
    ELIGO.Consent,
    ELIGO.Attestation,
)

#: Properties whose values are code IRIs (the term hierarchy is copied in for them).
CODE_PROPERTIES = (
    ELIGO.code,
    ELIGO.histology,
    ELIGO.valueCode,
    ELIGO.route,
    ELIGO.intent,
    ELIGO.severity,
    ELIGO.bodySite,
    ELIGO.evidenceType,
    ELIGO.reason,
)


def turtle_prefix_header() -> str:
    """The ``@prefix`` block for :data:`PREFIXES`, for fixtures and rules."""
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())


def sparql_prefix_header(extra: dict[str, str] | None = None) -> str:
    """The ``PREFIX`` block for :data:`PREFIXES` plus ``extra``."""
    items = {p: str(ns) for p, ns in PREFIXES.items()}
    items.update(extra or {})
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in items.items())
