"""The one exception hierarchy of eligo.

Every error eligo raises on purpose is an :class:`EligoError`. Each carries a
message a coordinator or data engineer can act on, and the exit code the CLI
uses for it. Anything else escaping the library is a bug.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Exit statuses of the ``eligo`` command."""

    OK = 0
    FINDINGS = 1  # a check ran and found problems (lint, ontology check)
    BAD_INPUT = 2  # bad input file or usage; nothing was produced
    INTERNAL = 3  # a bug in eligo


class EligoError(Exception):
    """Base of every error eligo raises on purpose."""

    exit_code: ExitCode = ExitCode.BAD_INPUT
    #: What the user should do about it (docs/errors.md is generated from these).
    action: ClassVar[str] = "Read the message: it names the file or option and the problem."

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class InputError(EligoError):
    """A patient file cannot be read: missing, empty, too large, not UTF-8, malformed (the message gives the
    line and column), of an unknown type, or with a part that cannot be read at all."""

    action = ("Fix the file at the place the message names, or re-export it; a population belongs to "
              "`eligo screen`, which streams NDJSON.")


class PatientGraphError(InputError):
    """The patient file is readable but does not describe exactly one patient (no patient, several
    patients, two different versions of one patient, a blank-node patient)."""

    action = "Give `eligo check` one file per patient; use `eligo screen` for a population."


class CodeMapError(InputError):
    """A code map (a FHIR ConceptMap given with --code-map) cannot be used: not JSON, not a ConceptMap, or an
    element at the JSON location the message names is missing or invalid (a group without its source or
    target system, an element or target without a code, an equivalence FHIR does not define)."""

    action = ("Correct the ConceptMap at the JSON location the message names (group[i].element[j].target[k]); "
              "FHIR R4 `equivalence` or R5 `relationship` values only.")


class UsageError(EligoError):
    """The command or API was called with invalid options."""

    action = "Run the command with --help and correct the option the message names."


class TrialError(EligoError):
    """A trial folder is missing, malformed or inconsistent."""

    action = "Run `eligo shapes lint` on the trial folder; it names the file and line to correct."


class ShapesRuntimeError(TrialError):
    """pySHACL could not validate a patient with the trial's shapes (a SPARQL constraint that does not run,
    a shape pySHACL cannot load): a fault of the trial folder, not of the patient."""

    action = ("Run `eligo shapes lint` and `eligo shapes test` on the trial folder; the message names the "
              "pySHACL error.")


class TermModuleError(EligoError):
    """The term module or its materialised hierarchy is missing, stale or inconsistent."""

    exit_code = ExitCode.FINDINGS
    action = "Run `eligo ontology check` to regenerate the hierarchy and see what is inconsistent."


class UnitConversionError(EligoError):
    """A quantity cannot be converted to the unit a criterion needs. Raised inside the engine only: a
    screening turns it into a unit problem on the record (the criterion is unknown and names the record)."""

    action = "Record the value with a UCUM unit convertible to the criterion's unit (docs/data-requirements.md)."


class StoreError(EligoError):
    """A population store or SPARQL endpoint cannot be opened, read or written."""

    action = "Check the --store folder or --endpoint URL the message names (create a store with `eligo load`)."
