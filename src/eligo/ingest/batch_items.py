"""The items batch readers yield: one patient's data, self-contained (a :class:`Unit` of work that can be
sent to another process or machine), or a problem that belongs to no patient or stopped one."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eligo.notices import WarningKind


class UnitKind(enum.Enum):
    """What a unit's payload holds."""

    FHIR = "fhir"  # a JSON list of FHIR resources
    RDF = "rdf"  # N-Triples in the eligo model


@dataclass(frozen=True, slots=True)
class Unit:
    """One patient's data, self-contained."""

    key: str  # the patient id used in output rows: FHIR Patient/id, or the RDF sourceId
    source: str  # where it came from, for messages
    kind: UnitKind
    payload: str


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Input that could not be attributed to a patient, or a patient that could not be screened; ``kind``
    is its documented kind (docs/errors.md)."""

    source: str
    message: str
    kind: WarningKind
