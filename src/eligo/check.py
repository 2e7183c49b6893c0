"""The public single-patient API: ``Screener`` and ``check``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from rdflib import Graph

from eligo.codemap import CodeMap
from eligo.engine.derive import Deriver, source_id
from eligo.engine.validate import validate
from eligo.engine.verdict import Screening, overall_verdict, translate
from eligo.errors import UsageError
from eligo.ingest import PatientInput, read_patient
from eligo.notices import DataWarning
from eligo.paths import DEFAULT_TRIAL, ONTOLOGY_DIR
from eligo.terms import TermModule
from eligo.trial import Trial


class Screener:
    """Checks patients against one trial; load once, check many.

    With ``cache_dir`` the trial and the term module are loaded from (and saved to) an on-disk cache, so
    that the next process need not parse them again (see :mod:`eligo.cache`); without it nothing is cached.

    >>> screener = Screener(trial="<trial id>")                   # doctest: +SKIP
    >>> screener.check(graph, index_date=date(2026, 12, 1))        # doctest: +SKIP
    """

    def __init__(self, *, trial: Trial | str | Path = DEFAULT_TRIAL,
                 terms: TermModule | None = None, ontology_dir: Path = ONTOLOGY_DIR,
                 code_map: CodeMap | None = None, cache_dir: Path | None = None) -> None:
        self.trial = trial if isinstance(trial, Trial) else Trial.load(trial, cache_dir=cache_dir)
        base = terms if terms is not None else TermModule.load(ontology_dir, cache_dir=cache_dir)
        #: the term module, reading the site's local codes through ``code_map`` when one is given
        self.terms = base.with_code_map(code_map)
        self.code_map = code_map
        #: the derivation this screener runs (generic facts, then the trial's rules); the batch engine
        #: shares its generic part
        self.deriver = Deriver(self.trial, self.terms)
        self._concepts = {c.id: self.trial.concepts(c.id) for c in self.trial.criteria}

    def check(self, patient: Graph | Path | str | PatientInput, *, index_date: dt.date,
              criteria: Sequence[str] | None = None) -> Screening:
        """Screen one patient.

        ``patient`` is a graph in the eligo model, or the path of a FHIR R4 JSON
        file (Bundle or resource) or an RDF file.
        ``criteria`` limits the run to some criterion ids (for fixtures and
        maintainers); the verdict then covers only those.
        """
        if not isinstance(index_date, dt.date) or isinstance(index_date, dt.datetime):
            raise UsageError("index_date must be a datetime.date")
        source: str | None = None
        read_warnings: tuple[DataWarning, ...] = ()
        if isinstance(patient, str | Path):
            patient = read_patient(Path(patient))
        if isinstance(patient, PatientInput):
            source, read_warnings, patient = patient.source, patient.warnings, patient.graph
        if criteria is None:
            crits, rules, shapes = self.trial.criteria, self.trial.rules, self.trial.shapes_graph
        else:
            crits, rules, shapes = self.trial.restricted_to(criteria)
        derived = self.deriver.derive(patient, index_date=index_date, rules=rules, source=source)
        violations = validate(derived.graph, shapes)
        results, engine_warnings = translate(
            criteria=crits, meanings=self.trial.shape_meanings, violations=violations,
            graph=derived.graph, patient=derived.patient, terms=self.terms, concepts=self._concepts)
        return Screening(
            patient=source_id(derived.graph, derived.patient),
            trial=self.trial.id,
            index_date=index_date,
            verdict=overall_verdict(results),
            criteria=tuple(results),
            warnings=read_warnings + derived.warnings + tuple(engine_warnings),
        )


def check(patient: Graph | Path | str, *, index_date: dt.date,
          trial: Trial | str | Path = DEFAULT_TRIAL, cache_dir: Path | None = None) -> Screening:
    """Screen one patient against a trial (loads the trial each call, from ``cache_dir`` when given; use
    :class:`Screener` to check many patients)."""
    return Screener(trial=trial, cache_dir=cache_dir).check(patient, index_date=index_date)
