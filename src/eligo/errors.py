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


class EndpointError(StoreError):
    """A SPARQL endpoint refused or failed a request. The message names the endpoint URL, the step (the query,
    or the part of a load) and the server's own message (its first line)."""

    action = ("Read the server's message: a limit or a missing permission of the server is set in its own "
              "configuration (docs/cohorts.md gives each server's setup); a query the server cannot compile is "
              "a portability bug of that query file, report it with the message.")


class EndpointAuthError(EndpointError):
    """The endpoint refused the request for want of credentials or rights (HTTP 401 or 403, or a permission
    error in the server's message)."""

    action = ("Give --endpoint-user (and --endpoint-auth digest where the server asks for it, Virtuoso's "
              "/sparql-auth) with the password in ELIGO_ENDPOINT_PASSWORD or a ~/.netrc entry; a load needs a "
              "user allowed to update (Virtuoso: `GRANT SPARQL_UPDATE TO \"SPARQL\";`, see docs/cohorts.md).")


class EndpointTimeoutError(EndpointError):
    """The endpoint stopped a request at its execution limit, or eligo waited for it longer than its own
    limit (600 s by default)."""

    action = ("Raise the server's limit (Virtuoso: MaxQueryExecutionTime in the [SPARQL] section of virtuoso.ini; "
              "`oxigraph serve --timeout-s`; Fuseki: arq:queryTimeout) or drop runs you no longer need; the "
              "message names the limit when the server says it.")


class EngineMismatchError(EligoError):
    """The batch engine and the pySHACL reference gave different results for a patient that
    ``--verify-sample`` re-checked (the message names the patient, the criterion and both results)."""

    exit_code = ExitCode.INTERNAL
    action = ("This is a bug in eligo: report it with the patient the message names; until it is fixed, screen "
              "with `--engine pyshacl`.")
