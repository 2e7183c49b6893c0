"""Terminology audit (issue #11): every verified code is in the term module, or its omission is decided.

``../shared/terminology/verified-codes.csv`` audits the term module against public value sets. Each
``missing-verified`` row must either be in the term module, as a code IRI under its grouping class
(with an ``eligo:source``), or be listed by code in the table of ``docs/decisions.md`` section
"Terminology audit: codes not added". Each ``mismatch`` row must be settled in "Terminology audit:
mismatches resolved".
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from eligo import TermModule
from eligo.ingest.fhir_map import code_iri
from eligo.model import ELIGO, ETERM

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AUDIT = PROJECT_ROOT.parent / "shared" / "terminology" / "verified-codes.csv"
DECISIONS = PROJECT_ROOT / "docs" / "decisions.md"
NOT_ADDED = "## Terminology audit: codes not added"
MISMATCHES = "## Terminology audit: mismatches resolved"

#: The audit's system names and their FHIR code-system URIs (None: a system eligo does not model).
SYSTEMS: dict[str, str | None] = {
    "SNOMED CT": "http://snomed.info/sct",
    "LOINC": "http://loinc.org",
    "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "ICD-10-CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "NCIt": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
    "ATC": "http://www.whocc.no/atc",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "ICD-O-3 topo": None,
}

pytestmark = pytest.mark.skipif(not AUDIT.is_file(),
                                reason="../shared/terminology/verified-codes.csv not beside this checkout")


def audit_rows(status: str) -> list[dict[str, str]]:
    with AUDIT.open(newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row["status"] == status]


def section(title: str) -> str:
    """The text of one level-2 section of docs/decisions.md (empty when it is missing)."""
    text = DECISIONS.read_text(encoding="utf-8")
    start = text.find(title + "\n")
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(title))
    return text[start:] if end < 0 else text[start:end]


def listed_codes(title: str) -> dict[str, str]:
    """Code -> system of the rows of the markdown table in a section (columns: system, code, ...)."""
    codes: dict[str, str] = {}
    for line in section(title).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2:
            continue
        if cells[0].lower() == "system" or set(cells[0]) <= set("-: "):
            continue  # header or separator row
        codes[cells[1].strip("`")] = cells[0]
    return codes


def grouping_requirement(grouping: str) -> list[URIRef] | None:
    """The classes a row's code must sit under (all of them), or None when the row names no usable class.

    ``eterm:A (comment)`` -> [A]; ``eterm:A + eterm:B`` -> [A, B] (a combination product under both);
    ``eterm:A / eterm:B`` -> [any of A, B] (returned as a one-element list of the first match, see
    :func:`satisfied`); ``(none: ...)``, ``(unclear: ...)`` or a ``?`` -> None (must be listed as not added).
    """
    head = grouping.split("(")[0]
    if grouping.lstrip().startswith("(") or "?" in head:
        return None
    names = re.findall(r"eterm:(\w+)", head)
    return [ETERM[n] for n in names] or None


def satisfied(ancestors: set[URIRef], grouping: str) -> bool:
    required = grouping_requirement(grouping)
    if required is None:
        return False
    head = grouping.split("(")[0]
    if "/" in head:  # either class
        return any(c in ancestors for c in required)
    return all(c in ancestors for c in required)


def ancestors_in(sources: Graph, iri: URIRef) -> set[URIRef]:
    """Every class above ``iri`` through rdfs:subClassOf in the hand-written term files."""
    return {c for c in sources.transitive_objects(iri, RDFS.subClassOf) if isinstance(c, URIRef)} - {iri}


def test_every_verified_code_is_in_the_term_module_or_its_omission_is_decided(terms: TermModule) -> None:
    rows = audit_rows("missing-verified")
    assert rows, f"no missing-verified rows in {AUDIT}"
    not_added = listed_codes(NOT_ADDED)
    sources = terms.sources
    missing: list[str] = []
    no_source: list[str] = []
    stale: list[str] = []
    for row in rows:
        system, code, grouping = row["system"], row["code"], row["grouping_class"]
        uri = SYSTEMS.get(system)
        iri = code_iri(uri, code) if uri else None
        if iri is not None and satisfied(ancestors_in(sources, iri), grouping):
            if sources.value(iri, ELIGO.source) is None:
                no_source.append(f"{system} {code}")
            if not terms.is_known(iri):
                stale.append(f"{system} {code}")
            continue
        if code in not_added:
            continue
        missing.append(f"{system} {code} {row['display']!r} -> {grouping}")
    assert not missing, (
        f"{len(missing)} verified code(s) neither in the term module under their grouping class nor listed "
        f"in docs/decisions.md '{NOT_ADDED[3:]}':\n  " + "\n  ".join(missing))
    assert not no_source, "added code(s) without eligo:source: " + ", ".join(no_source)
    assert not stale, ("added code(s) missing from ontology/generated/hierarchy.ttl (run `eligo ontology check`): "
                       + ", ".join(stale))


def test_codes_listed_as_not_added_are_audit_rows_and_absent_from_the_term_module(terms: TermModule) -> None:
    not_added = listed_codes(NOT_ADDED)
    assert not_added, f"docs/decisions.md has no table under '{NOT_ADDED}'"
    audited = {row["code"]: row["system"] for row in audit_rows("missing-verified")}
    unknown = sorted(set(not_added) - set(audited))
    assert not unknown, f"listed as not added but not a missing-verified row of the audit: {unknown}"
    present = []
    for code, system in not_added.items():
        uri = SYSTEMS.get(audited[code])
        if uri and (code_iri(uri, code), None, None) in terms.sources:
            present.append(f"{system} {code}")
    assert not present, f"listed as not added, yet defined in the term module: {present}"


def test_every_mismatch_is_resolved_in_the_decisions() -> None:
    rows = audit_rows("mismatch")
    text = section(MISMATCHES)
    assert text, f"docs/decisions.md has no section '{MISMATCHES}'"
    unresolved = [f"{r['system']} {r['code']}" for r in rows if r["code"] not in text]
    assert not unresolved, f"mismatch row(s) not settled in '{MISMATCHES}': {unresolved}"


def test_mismatch_decisions_are_in_the_term_module(terms: TermModule) -> None:
    stage_is = code_iri("http://snomed.info/sct", "1222733009")
    assert ETERM.Stage0 not in terms.ancestors(stage_is), "AJCC stage IS is a testis stage-I subgroup, not stage 0"
    assert ETERM.StageI in terms.ancestors(stage_is)
    pneumonitis = code_iri("http://snomed.info/sct", "205237003")
    assert ETERM.Pneumonitis in terms.ancestors(pneumonitis)  # kept on purpose: over-excludes, never lets ILD through


def test_grouping_parser_reads_the_audit_forms() -> None:
    assert grouping_requirement("eterm:LVEF (IN11/EX02d)") == [ETERM.LVEF]
    assert grouping_requirement("eterm:Pertuzumab + eterm:Trastuzumab") == [ETERM.Pertuzumab, ETERM.Trastuzumab]
    assert grouping_requirement("eterm:Trastuzumab? (SCDG shared; CodeX also tags TDM1: ambiguous)") is None
    assert grouping_requirement("(none: ER/PR irrelevant)") is None
    assert satisfied({ETERM.Pneumonitis}, "eterm:InterstitialLungDisease / eterm:Pneumonitis (EX03)")
    assert not satisfied({ETERM.Pertuzumab}, "eterm:Pertuzumab + eterm:Trastuzumab")
