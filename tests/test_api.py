"""The public surface: what `import eligo` offers, the names worker processes are pickled by, and the
errors of the libraries under eligo arriving as eligo errors."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from rdflib import Graph

import eligo
from eligo.engine.validate import validate
from eligo.errors import EligoError, ShapesRuntimeError, TrialError


def test_public_names_are_pinned() -> None:
    """Adding or removing a public name is an API change: it must show up in this diff."""
    assert sorted(eligo.__all__) == [
        "CodeMap", "CodeMapError", "Criterion", "CriterionResult", "EligoError", "Evidence", "ExitCode",
        "InputError", "Kind", "Outcome", "Parameter", "PatientGraphError", "Screener", "Screening",
        "TermModule", "TermModuleError", "Trial", "TrialError", "UnitConversionError", "UsageError", "Verdict",
        "check", "load_code_map",
    ]
    for name in eligo.__all__:
        assert getattr(eligo, name) is not None, name


@pytest.mark.parametrize(("module", "names"), [
    # pickled by module path into process pools and onto Dask workers: renaming breaks running clusters
    ("eligo.population.workers", ["init_worker", "screen_batch_with", "screen_in_worker", "screen_on_dask_worker",
                                  "screen_units_in_worker", "screen_units_on_dask_worker", "screen_with",
                                  "verify_chosen"]),
])
def test_worker_entry_points_keep_their_names(module: str, names: list[str]) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(names)
    for name in names:
        fn = getattr(mod, name)
        assert fn.__module__ == module and fn.__qualname__ == name


def test_options_are_keyword_only() -> None:
    import inspect

    for fn in (eligo.Screener.__init__, eligo.Screener.check, eligo.check):
        params = list(inspect.signature(fn).parameters.values())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        assert positional in (["self"], ["self", "patient"], ["patient"]), (fn, positional)
        assert not any(p.kind is p.VAR_KEYWORD for p in params), fn


BROKEN_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:P ;
    sh:sparql [ sh:select "SELECT $this WHERE { this is not sparql }" ] .
"""


def test_a_pyshacl_failure_is_an_eligo_error() -> None:
    data = Graph().parse(data="<https://example.org/p> a <https://example.org/P> .", format="turtle")
    shapes = Graph().parse(data=BROKEN_SHAPES, format="turtle")
    with pytest.raises(ShapesRuntimeError) as info:
        validate(data, shapes)
    assert isinstance(info.value, TrialError) and isinstance(info.value, EligoError)
    assert "pySHACL could not validate" in info.value.message


def test_index_date_must_be_a_date(screener: eligo.Screener) -> None:
    with pytest.raises(eligo.UsageError):
        screener.check(Graph(), index_date=dt.datetime(2026, 12, 1))  # type: ignore[arg-type]
