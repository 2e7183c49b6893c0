"""Warnings and input problems as typed values: what kind each is, and what that kind means.

Every warning eligo emits is a :class:`DataWarning` created with its :class:`WarningKind` where it is
emitted; a batch input problem (:class:`eligo.ingest.batch_items.InputProblem`) and a batch row's error
carry a kind as well. Each kind documents itself (meaning, effect, action): docs/errors.md is generated
from these texts and from the sites that name each kind (:mod:`eligo.authoring.errordocs`), so that code
and page cannot drift and no message is classified after the fact.

``str(warning)`` is the message as printed under ``warnings`` in ``eligo check`` output:
``"Observation/x: text"`` when the warning names its record, else the text alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class WarningKind(enum.Enum):
    """A family of warnings: what they mean, what they do to the screening, and what to do.

    The value of each member is its title on docs/errors.md; ``meaning``, ``effect`` and ``action`` are
    its documentation."""

    title: str
    meaning: str
    action: str
    effect: str

    def __new__(cls, title: str, meaning: str, action: str, effect: str) -> WarningKind:
        member = object.__new__(cls)
        member._value_ = title
        member.title, member.meaning, member.action, member.effect = title, meaning, action, effect
        return member

    AFTER_INDEX_DATE = (
        "record-not-used: after the index date",
        "A record is dated after the index date.",
        "Nothing, if the index date is right; otherwise rerun with the right --index-date.",
        "The record is ignored for every criterion.")
    ENTERED_IN_ERROR = (
        "record-not-used: entered in error",
        "The record's status or verification status is entered-in-error.",
        "Nothing; correct the source system if the status is wrong.",
        "The record is ignored.")
    NOT_THE_PATIENTS = (
        "record-not-used: no subject / another patient",
        "A resource in a patient's file has no subject, or refers to another patient.",
        "Check the export: the resource belongs to another patient or lost its subject.",
        "The record is ignored.")
    UNREADABLE_ELEMENT = (
        "unreadable element",
        "A FHIR element has the wrong type or form (a string where a Quantity belongs, a code without a system, "
        "a date that is not a date).",
        "Correct the element in the source system or the export mapping.",
        "That part of the record is not read; a criterion that needed it is unknown and names the record in its "
        "reason (eligo:dataProblem).")
    UNRESOLVED_REFERENCE = (
        "unresolved reference",
        "A medicationReference points to a Medication that is not in the input.",
        "Include the Medication resources in the export (or use medicationCodeableConcept).",
        "The agent is unknown: the therapy matches no drug group; criteria that need it say so.")
    UNREADABLE_DATE = (
        "unreadable date",
        "A date in the RDF input is not a date (for instance 2026-02-30).",
        "Correct the date.",
        "The record is undated: window criteria treat it as possibly inside (unknown) or ignore it, as each "
        "criterion documents; the criterion names the record.")
    IMPLAUSIBLE_VALUE = (
        "implausible value",
        "A value no living patient can have (an LVEF of 150%, a negative count, an age over 130 years), by the "
        "limits in the term module (eligo:plausibleMin / eligo:plausibleMax).",
        "Correct the value; check the unit it was recorded in.",
        "The value is not used; the criterion is unknown and names the record.")
    IMPOSSIBLE_BIRTH_DATE = (
        "impossible birth date",
        "The birth date is after the index date.",
        "Correct the birth date (or the index date).",
        "Age is unknown: criteria that read it (an age limit, the Cockcroft-Gault clearance) are unknown.")
    UNIT_PROBLEM = (
        "unit problem",
        "A quantity has no unit, a unit that is not UCUM or cannot be converted to the unit the criterion compares "
        "in, or is not a finite number.",
        "Record the value with a UCUM unit (docs/data-requirements.md lists the units per analyte).",
        "The value is not used; the criterion is unknown and names the record.")
    REFERENCE_RANGE_NOT_USABLE = (
        "reference range not usable",
        "The reference range high (ULN) cannot be converted or is not positive.",
        "Correct the reference range.",
        "The trial's default ULN applies instead.")
    UNRECOGNISED_CODE = (
        "unrecognised code",
        "A code the term module does not know (not a verified member of any criterion concept).",
        "If it should count, add it to ontology/terms with its source (docs/authoring.md); else nothing.",
        "The record is kept but matches no criterion concept; criteria that look for unclassifiable records (e.g. "
        "an unknown vaccine in a live-vaccine window) are unknown.")
    CODE_READ_AS_LISTED = (
        "code read through its category or a code map",
        "A code the term module does not list, recognised as a listed code: through the site's code map "
        "(--code-map), or as the ICD-10-CM category, ICD-O-3 morphology or ATC group it extends.",
        "Nothing, if that reading is right; else correct the code map (docs/cli.md, Local codes).",
        "The record counts exactly as the listed code.")
    POSSIBLE_MEMBER = (
        "possible member (doubt)",
        "A record whose codes do not put it in a group, while its text names a member (an anti-HER2 ADC) or the "
        "code map relates its code to one without equivalence.",
        "Confirm what was given and correct the record's code (or the code map).",
        "Exclusions that read the group (e.g. a prior anti-HER2 ADC) are unknown on it, never met.")
    RESOURCE_TYPE_NOT_READ = (
        "resource type not read",
        "Resources of a type eligo does not read (e.g. FamilyMemberHistory).",
        "Nothing, unless a criterion should read them (then docs/data-requirements.md).",
        "Ignored, and counted in the warnings.")
    DUPLICATE_RESOURCES = (
        "duplicate resources",
        "The same resource appears more than once (identical copies), or different resources share one id.",
        "Deduplicate the export; give different resources different ids.",
        "Identical copies are read once; different resources sharing an id are all read, as separate records, so "
        "the result does not depend on their order.")
    ENGINE_SAFETY_NET = (
        "engine safety net",
        "An inclusion criterion was not violated but cites no record (read as unknown: missing data never yields "
        "eligible), or a shapes-file bug.",
        "For the first: record the data the criterion needs. For the others: report a bug in the trial's shapes.",
        "The criterion is unknown.")
    MALFORMED_LINE = (
        "malformed line (batch)",
        "In an NDJSON export, a line that cannot be read.",
        "Fix or remove the line (the message gives file and line number).",
        "The line is skipped and gets an error row; a patient it names is not screened (see below).")
    PATIENT_NOT_SCREENED = (
        "patient not screened (batch)",
        "A patient whose record is incomplete (a line naming it could not be read, or a file of the export could "
        "not be read) or ambiguous (two different versions of the Patient resource).",
        "Fix the named line or file, or keep one version of the patient; then resume the run (--resume).",
        "No verdict for that patient: an error row says why. eligo never screens a patient without part of its "
        "record.")
    ORPHAN_RESOURCES = (
        "orphan resources (batch)",
        "Resources refer to a patient that is not in the input (or have no subject).",
        "Include the Patient resources, or check the subject references.",
        "The resources are not used; one error row counts them.")
    FILE_NOT_READ = (
        "file not read (batch)",
        "A batch input file that is empty, missing, too large to read whole (over 64 MB for a JSON or RDF "
        "document), or holds no patient.",
        "Check the path; export large populations as FHIR Bulk Data NDJSON, which eligo streams.",
        "An error row names the file; the other inputs are screened.")
    WORKER_LOST = (
        "worker lost (batch)",
        "The process screening this patient died every time it was tried (killed by the system, usually for "
        "memory, or a crash in a native library); the other patients in flight were screened again and are "
        "unaffected.",
        "Check the patient alone with `eligo check` (watch its memory); give workers more memory or split the "
        "patient's record if it is huge.",
        "That patient's row has the error and no verdict.")
    INTERNAL_ERROR = (
        "internal error (batch)",
        "A bug in eligo while screening one patient.",
        "Report it with the input (the row names the patient); the rest of the run is unaffected.",
        "That patient's row has the error and no verdict.")


@dataclass(frozen=True, slots=True)
class DataWarning:
    """One warning: its kind, its text, and the record it is about (a source id such as ``Observation/x``)
    when the message names one as its subject."""

    kind: WarningKind
    text: str
    record: str | None = None

    def __str__(self) -> str:
        return f"{self.record}: {self.text}" if self.record is not None else self.text


__all__ = ["DataWarning", "WarningKind"]
