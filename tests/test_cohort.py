"""Population store and cohort queries: the embedded store and a real Oxigraph server give the same answers.

One synthetic population (200 patients) is generated and screened once; its
patient graphs and results are loaded into an embedded pyoxigraph store and,
over HTTP, into a real `oxigraph serve` (patient graphs with SPARQL Update,
results with the Graph Store protocol). Every query in queries/ runs on both.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyoxigraph import Literal

from eligo import Outcome, Screener, TermModule, Trial, Verdict
from eligo.authoring.synth import generate, write_bulk
from eligo.cli import main
from eligo.errors import StoreError, UsageError
from eligo.ingest.batch import Unit, discover
from eligo.population.cohort import (
    PLACEHOLDER,
    CohortQuery,
    list_queries,
    load_query,
    run_query,
    text_value,
    values_block,
)
from eligo.population.load import RESULT_BATCH, load_patients, load_reference_graphs, unit_graph, write_run
from eligo.population.results import RunInfo
from eligo.population.screen import Row, screen
from eligo.population.store import EmbeddedStore, SparqlEndpoint, Table
from oxigraph_server import Server, oxigraph_server

INDEX = dt.date(2026, 12, 1)
N = 200
EVIL = 'IN11" } UNION { GRAPH ?g { ?s ?p ?o } } #\n}\n# @parameters\r\n\\" \\u0022 \' }} UNION {'


@dataclass(frozen=True)
class Population:
    folder: Path
    rows_file: Path
    rows: tuple[Row, ...]

    def by_verdict(self, *verdicts: str) -> set[str]:
        return {r.patient for r in self.rows if r.verdict is not None and r.verdict.value in verdicts}


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory, trial: Trial, terms: TermModule) -> Population:
    root = tmp_path_factory.mktemp("population")
    write_bulk(generate(N, seed=11, trial=trial, terms=terms, index_date=INDEX), root / "pop")
    rows: list[Row] = []
    summary = screen([root / "pop"], index_date=INDEX, out=root / "rows.jsonl", workers=2, progress=False,
                     on_row=rows.append)
    assert summary.total == N and summary.errors == 0
    return Population(root / "pop", root / "rows.jsonl", tuple(sorted(rows, key=lambda r: r.patient)))


@pytest.fixture(scope="module")
def backends(population: Population, trial: Trial, oxigraph: Server,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, EmbeddedStore | SparqlEndpoint]:
    run = RunInfo.new(trial, index_date=INDEX, terms_version="sha256:test", started=None,
                      ended=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    loaded = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    store = EmbeddedStore(tmp_path_factory.mktemp("store") / "db", create=True)
    load_reference_graphs(store, trial)
    load_patients(store, [population.folder])
    write_run(store, run, trial, population.rows, loaded=loaded)
    endpoint = SparqlEndpoint(oxigraph.query_url)  # writes with SPARQL Update at .../update
    graph_store = SparqlEndpoint(oxigraph.query_url, graph_store_url=oxigraph.store_url)
    load_reference_graphs(endpoint, trial)
    load_patients(endpoint, [population.folder])
    written, _, _ = write_run(graph_store, run, trial, population.rows, loaded=loaded)
    assert written > RESULT_BATCH, "the results should take a PUT and at least one POST"
    yield {"embedded": store, "endpoint": endpoint}
    store.close()


def both(backends: dict, query: str | CohortQuery, params: dict[str, str] | None = None) -> Table:
    """Run a query on both backends, assert identical answers, return one."""
    q = query if isinstance(query, CohortQuery) else load_query(query)
    embedded = run_query(backends["embedded"], q, params or {})
    endpoint = run_query(backends["endpoint"], q, params or {})
    assert embedded == endpoint, f"{q.name} {params}: the embedded store and the endpoint disagree"
    return embedded


def texts(table: Table, column: str) -> list[str]:
    return [text_value(v) for v in table.column(column)]


# ---------------------------------------------------------------- every query, both backends
PARAM_CASES = [
    ("runs", {}), ("runs", {"trial": "tdxd-her2-liquid-biopsy"}),
    ("candidates", {}), ("candidates", {"trial": "tdxd-her2-liquid-biopsy"}),
    ("funnel", {}), ("data-gaps", {}), ("data-gaps", {"criterion": "IN11"}), ("data-gaps", {"maxOpen": "1"}),
    ("prescreen", {}), ("prescreen", {"indexDate": "2026-12-01"}),
]


def test_every_query_file_is_covered() -> None:
    assert {q.name for q in list_queries()} == {name for name, _ in PARAM_CASES}


@pytest.mark.parametrize(("name", "params"), PARAM_CASES, ids=[f"{n}-{'-'.join(p) or 'default'}"
                                                               for n, p in PARAM_CASES])
def test_query_identical_on_store_and_endpoint(backends: dict, name: str, params: dict[str, str]) -> None:
    table = both(backends, name, params)
    assert table.rows, f"{name} answered nothing"
    assert table.columns == load_query(name).columns


def test_query_headers_declare_purpose_parameters_and_columns() -> None:
    for q in list_queries():
        assert q.title and q.purpose and q.columns, q.name
        for p in q.parameters:
            assert p.description and not p.required, (q.name, p.name)


# ---------------------------------------------------------------- the answers are right
def test_rows_are_the_eligo_check_verdicts(population: Population, screener: Screener) -> None:
    units = [u for u in discover([population.folder]) if isinstance(u, Unit)][:: N // 8]
    by_patient = {r.patient: r for r in population.rows}
    for u in units:
        s = screener.check(unit_graph(u), index_date=INDEX)
        assert s.verdict is by_patient[u.key].verdict, u.key


def test_candidates_are_exactly_eligible_or_pending(backends: dict, population: Population) -> None:
    table = both(backends, "candidates")
    expected = {r.patient: r.verdict.value for r in population.rows
                if r.verdict in (Verdict.ELIGIBLE, Verdict.PENDING_ATTESTATION)}
    got = dict(zip(texts(table, "patient"), texts(table, "verdict"), strict=True))
    assert got == expected
    assert len(table.rows) == len(expected)
    assert {v for v in got.values()} == {"eligible", "pending-attestation"}, "the population should hold both"


def expected_funnel(rows: tuple[Row, ...], order: list[str]) -> list[tuple[str, int, int, int, int, int, int]]:
    screened = [r for r in rows if r.verdict is not None]
    out = []
    for k, cid in enumerate(order):
        counts = Counter(r.outcomes[cid].value for r in screened)
        before = order[: k + 1]
        remaining = sum(all(r.outcomes[c] is not Outcome.NOT_MET for c in before) for r in screened)
        confirmed = sum(all(r.outcomes[c] in (Outcome.MET, Outcome.NOT_APPLICABLE) for c in before) for r in screened)
        out.append((cid, counts["met"], counts["not-met"], counts["unknown"], counts["not-applicable"],
                    remaining, confirmed))
    return out


def test_funnel_counts_equal_counts_from_the_verdicts(backends: dict, population: Population, trial: Trial) -> None:
    table = both(backends, "funnel")
    order = [c.id for c in trial.criteria]
    got = [(text_value(r["criterion"]), *(int(text_value(r[c])) for c in
            ("met", "notMet", "unknown", "notApplicable", "remaining", "confirmed"))) for r in table.records()]
    assert got == expected_funnel(population.rows, order)
    assert texts(table, "position") == [str(i) for i in range(1, len(order) + 1)]
    last = got[-1]
    verdicts = Counter(r.verdict.value for r in population.rows if r.verdict is not None)
    assert last[6] == verdicts["eligible"]  # everything met or n/a = eligible
    assert last[5] == verdicts["eligible"] + verdicts["needs-data"] + verdicts["pending-attestation"]
    assert last[5] < N, "somebody must be ruled out in a population of 200"


def test_data_gaps_are_patients_whose_only_open_outcomes_are_unknown(backends: dict, population: Population) -> None:
    table = both(backends, "data-gaps")
    expected = {r.patient for r in population.rows
                if Outcome.NOT_MET not in r.outcomes.values() and Outcome.UNKNOWN in r.outcomes.values()}
    assert set(texts(table, "patient")) == expected
    assert expected == population.by_verdict("needs-data", "pending-attestation")
    by_patient = {r.patient: r for r in population.rows}
    needs: dict[tuple[str, str], list[str]] = {}
    for rec in table.records():
        p, cid = text_value(rec["patient"]), text_value(rec["criterion"])
        row = by_patient[p]
        assert row.outcomes[cid] is Outcome.UNKNOWN
        assert int(text_value(rec["open"])) == list(row.outcomes.values()).count(Outcome.UNKNOWN)
        needs.setdefault((p, cid), []).append(text_value(rec["needs"]))
    for (p, cid), texts_ in needs.items():
        assert sorted(texts_) == sorted(by_patient[p].needs[cid])


def test_data_gaps_for_one_criterion_and_one_test_away(backends: dict, population: Population) -> None:
    lvef = both(backends, "data-gaps", {"criterion": "IN11"})
    assert set(texts(lvef, "criterion")) == {"IN11"}
    assert set(texts(lvef, "patient")) == {r.patient for r in population.rows
                                           if r.outcomes.get("IN11") is Outcome.UNKNOWN
                                           and Outcome.NOT_MET not in r.outcomes.values()}
    one = both(backends, "data-gaps", {"maxOpen": "1"})
    assert set(texts(one, "open")) == {"1"}
    assert set(texts(one, "patient")) == {r.patient for r in population.rows
                                          if Outcome.NOT_MET not in r.outcomes.values()
                                          and list(r.outcomes.values()).count(Outcome.UNKNOWN) == 1}


def test_prescreen_is_a_superset_of_the_eligible(backends: dict, population: Population) -> None:
    eligible = population.by_verdict("eligible")
    for params in ({}, {"indexDate": INDEX.isoformat()}):
        found = set(texts(both(backends, "prescreen", params), "patient"))
        assert eligible <= found, f"eligible patients missing from the pre-screen: {sorted(eligible - found)}"
        assert len(found) < N, "the pre-screen should rule somebody out"
        ruled_out = {r.patient: r for r in population.rows if r.patient not in found}
        assert all(any(r.outcomes[c] is not Outcome.MET for c in ("IN03", "IN04", "EX01")) for r in ruled_out.values())


def test_runs_describe_the_run(backends: dict, trial: Trial) -> None:
    rec = both(backends, "runs").records()[0]
    assert text_value(rec["trial"]) == trial.id
    assert text_value(rec["indexDate"]) == INDEX.isoformat()
    assert text_value(rec["patients"]) == str(N)
    assert text_value(rec["shapesVersion"]).startswith("sha256:")


# ---------------------------------------------------------------- parameters are bound, never pasted
def test_hostile_parameter_is_bound_as_a_literal(backends: dict, tmp_path: Path) -> None:
    gaps = load_query("data-gaps")
    bound = gaps.bind({"criterion": EVIL})
    before, after = gaps.text.splitlines(), bound.splitlines()
    assert len(before) == len(after), "a value must not add lines to the query"
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    block = values_block([("criterion", Literal(EVIL))])
    assert changed and all(PLACEHOLDER.match(a) and b == block for a, b in changed)
    assert both(backends, gaps, {"criterion": EVIL}).rows == ()  # injected, the UNION would match every triple
    assert both(backends, "candidates", {"trial": EVIL}).rows == ()
    echo = tmp_path / "echo.rq"
    echo.write_text("# Echo: the bound value.\n# Purpose: test.\n# param value string optional the value\n"
                    "# Columns: value\nSELECT ?value WHERE {\n  # @parameters\n}\n", encoding="utf-8")
    table = both(backends, load_query(str(echo)), {"value": EVIL})
    assert table.rows == ((Literal(EVIL),),)


def test_values_block_escapes_and_iris_are_validated() -> None:
    block = values_block([("x", Literal(EVIL))])
    assert "\n" not in block and "\r" not in block
    with pytest.raises(UsageError, match="not a valid iri"):
        load_query("candidates").bind({"run": "https://eligo.dev/run/x> } UNION { ?s ?p ?o"})
    with pytest.raises(UsageError, match="not a valid date"):
        load_query("prescreen").bind({"indexDate": "2026-12-01\" } #"})
    with pytest.raises(UsageError, match="not a valid integer"):
        load_query("data-gaps").bind({"maxOpen": "1 || true"})
    with pytest.raises(UsageError, match="no parameter"):
        load_query("funnel").bind({"criterion": "IN01"})


# ---------------------------------------------------------------- store behaviour
def test_reload_replaces_patient_data_and_latest_run_wins(tmp_path: Path, trial: Trial) -> None:
    from eligo.paths import EXAMPLES_DIR

    with EmbeddedStore(tmp_path / "db", create=True) as store:
        for _ in range(2):
            load_patients(store, [EXAMPLES_DIR / "eligible.ttl"])
        count = store.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows[0][0]
        n_once = len(unit_graph(next(u for u in discover([EXAMPLES_DIR / "eligible.ttl"])
                                     if isinstance(u, Unit))))
        assert int(text_value(count)) == n_once
        ids = [c.id for c in trial.criteria]
        old = RunInfo.new(trial, index_date=INDEX, terms_version="t", started=None, ended=None)
        met = dict.fromkeys(ids, Outcome.MET)
        write_run(store, old, trial, [Row("Patient/eligible", "x", Verdict.ELIGIBLE, met)])
        new = RunInfo.new(trial, index_date=INDEX, terms_version="t", started=None, ended=None)
        outcomes = dict.fromkeys(ids, Outcome.MET) | {"IN11": Outcome.NOT_MET}
        write_run(store, new, trial, [Row("Patient/eligible", "x", Verdict.INELIGIBLE, outcomes)])
        assert run_query(store, load_query("candidates"), {}).rows == ()
        latest = run_query(store, load_query("runs"), {}).records()
        assert [text_value(r["run"]) for r in latest][0] == new.iri.value
        older = run_query(store, load_query("candidates"), {"run": old.iri.value})
        assert texts(older, "patient") == ["Patient/eligible"]


def test_server_is_stopped_even_when_the_test_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), oxigraph_server(tmp_path / "data") as server:
        assert server.process.poll() is None
        raise RuntimeError("boom")
    assert server.process.poll() is not None


def test_unreachable_endpoint_and_missing_store_are_clear_errors(tmp_path: Path) -> None:
    from oxigraph_server import free_port

    with pytest.raises(StoreError, match="cannot reach the SPARQL endpoint"):
        SparqlEndpoint(f"http://127.0.0.1:{free_port()}/query").select("SELECT * WHERE { ?s ?p ?o }")
    with pytest.raises(StoreError, match="no population store here"):
        EmbeddedStore(tmp_path / "nowhere")


# ---------------------------------------------------------------- the CLI
def test_cli_load_cohort_funnel(tmp_path: Path, population: Population, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert main(["load", str(population.folder), "--store", str(store), "--index-date", INDEX.isoformat(),
                 "--rows", str(population.rows_file)]) == 0
    out = capsys.readouterr().out
    assert f"{N} patient graphs" in out and "run https://eligo.dev/run/" in out
    assert main(["cohort", "candidates", "--store", str(store), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["columns"] == ["patient", "verdict", "graph", "run"]
    assert {r["patient"] for r in doc["rows"]} == population.by_verdict("eligible", "pending-attestation")
    assert main(["cohort", "data-gaps", "--store", str(store), "--param", "maxOpen=1", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "patient,open,criterion,needs,graph,run" and len(lines) > 1
    chart = tmp_path / "charts" / "funnel"
    assert main(["funnel", "--store", str(store), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert f"{N} patients screened" in out and "EX09" in out
    assert chart.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in chart.with_suffix(".svg").read_text(encoding="utf-8")
    assert main(["cohort", "--list"]) == 0
    assert "prescreen" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["cohort", "candidates"], "--store DIR or --endpoint URL"),
    (["cohort", "no-such-query", "--store", "{store}"], "no query 'no-such-query'"),
    (["cohort", "candidates", "--store", "{store}", "--param", "colour=red"], "has no parameter 'colour'"),
    (["cohort", "candidates", "--store", "{store}", "--param", "trial"], "write NAME=VALUE"),
    (["funnel", "--store", "{store}"], "no population store here"),
    (["load", "x.ndjson", "--store", "{store}"], "--index-date is required"),
])
def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code = main([a.replace("{store}", str(tmp_path / "missing")) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.startswith("eligo: error:") and err.count("\n") == 1
