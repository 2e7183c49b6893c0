"""eligo: clinical-trial eligibility as SHACL shapes over RDF patient graphs.

Public API::

    from datetime import date
    import eligo

    screener = eligo.Screener(trial="<trial id>")   # a folder name under shapes/; omitted: the default trial
    result = screener.check("examples/eligible.ttl", index_date=date(2026, 12, 1))
    result.verdict                   # eligo.Verdict.ELIGIBLE
    result.result("<criterion id>")  # eligo.CriterionResult(outcome=eligo.Outcome.MET, ...)
"""

from eligo.check import Screener, check
from eligo.codemap import CodeMap, load_code_map
from eligo.engine.verdict import CriterionResult, Evidence, Screening, Verdict
from eligo.errors import (
    CodeMapError,
    EligoError,
    ExitCode,
    InputError,
    PatientGraphError,
    TermModuleError,
    TrialError,
    UnitConversionError,
    UsageError,
)
from eligo.terms import TermModule
from eligo.trial import Criterion, Kind, Outcome, Parameter, Trial

__version__ = "0.1.0"

__all__ = [
    "CodeMap",
    "CodeMapError",
    "Criterion",
    "CriterionResult",
    "EligoError",
    "Evidence",
    "ExitCode",
    "InputError",
    "Kind",
    "Outcome",
    "Parameter",
    "PatientGraphError",
    "Screener",
    "Screening",
    "TermModule",
    "TermModuleError",
    "Trial",
    "TrialError",
    "UnitConversionError",
    "UsageError",
    "Verdict",
    "check",
    "load_code_map",
]
