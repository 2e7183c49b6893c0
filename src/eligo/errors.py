"""The one exception hierarchy of eligo.

Every error eligo raises on purpose is an :class:`EligoError`. Each carries a
message a coordinator or data engineer can act on, and the exit code the CLI
uses for it. Anything else escaping the library is a bug.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``eligo`` command."""

    OK = 0
    FINDINGS = 1  # a check ran and found problems (lint, ontology check)
    BAD_INPUT = 2  # bad input file or usage; nothing was produced
    INTERNAL = 3  # a bug in eligo


class EligoError(Exception):
    """Base of every error eligo raises on purpose."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class InputError(EligoError):
    """A patient file cannot be read: missing, malformed, or of the wrong kind."""


class PatientGraphError(InputError):
    """The patient graph is readable but unusable (no patient, several patients, ...)."""


class UsageError(EligoError):
    """The command or API was called with invalid options."""


class TrialError(EligoError):
    """A trial folder is missing, malformed or inconsistent."""


class TermModuleError(EligoError):
    """The term module or its materialised hierarchy is missing, stale or inconsistent."""

    exit_code = ExitCode.FINDINGS


class UnitConversionError(EligoError):
    """A quantity cannot be converted to the unit a criterion needs."""
