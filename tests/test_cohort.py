"""Population store and cohort queries: the embedded store, a real Oxigraph server and a real Virtuoso give the
same answers.

One synthetic population (200 patients) is generated and screened once; its patient graphs and results are
loaded into an embedded pyoxigraph store; over HTTP into a real `oxigraph serve` (patient graphs with SPARQL
Update, results with the Graph Store protocol); and into a real OpenLink Virtuoso 7 (Debian's package, started
by this module on 127.0.0.1; everything with SPARQL Update, Virtuoso's default limits). Every query in queries/
runs on all three with every parameter combination below. The Virtuoso tests skip, saying why, only when
Virtuoso is not installed (`make virtuoso` installs it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Triple

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
from eligo.population.store import VIRTUOSO_BATCH_TRIPLES, EmbeddedStore, SparqlEndpoint, Table
from oxigraph_server import Server, oxigraph_server
from virtuoso_server import DEBIAN_PACKAGE, Virtuoso, VirtuosoUnavailable, virtuoso_binaries, virtuoso_server

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
def population(tmp_path_factory: pytest.TempPathFactory, trial: Trial, terms: TermModule,
               startup_cache: Path) -> Population:
    root = tmp_path_factory.mktemp("population")
    write_bulk(generate(N, seed=11, trial=trial, terms=terms, index_date=INDEX), root / "pop")
    rows: list[Row] = []
    summary = screen([root / "pop"], index_date=INDEX, out=root / "rows.jsonl", workers=2, progress=False,
                     on_row=rows.append, cache_dir=startup_cache)
    assert summary.total == N and summary.errors == 0
    return Population(root / "pop", root / "rows.jsonl", tuple(sorted(rows, key=lambda r: r.patient)))


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso | None]:
    """One real Virtuoso for this module (None when it is not installed: its tests skip, saying why)."""
    try:
        virtuoso_binaries()
    except VirtuosoUnavailable:
        yield None
        return
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server


@pytest.fixture(scope="module")
def backends(population: Population, trial: Trial, oxigraph: Server, virtuoso: Virtuoso | None,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EmbeddedStore | SparqlEndpoint]]:
    run = RunInfo.new(trial, index_date=INDEX, terms_version="sha256:test", started=None,
                      ended=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    loaded = dt.datetime(2026, 11, 30, 12, 0, 0, 120_000, tzinfo=dt.UTC)  # Virtuoso answers .120, Oxigraph .12
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
    out: dict[str, EmbeddedStore | SparqlEndpoint] = {"embedded": store, "endpoint": endpoint}
    if virtuoso is not None:  # everything with SPARQL Update: INSERT DATA, no blank node, batched
        server = SparqlEndpoint(virtuoso.query_url)
        load_reference_graphs(server, trial)
        load_patients(server, [population.folder])
        write_run(server, run, trial, population.rows, loaded=loaded)
        assert server.virtuoso and server.batch == VIRTUOSO_BATCH_TRIPLES
        out["virtuoso"] = server
    yield out
    store.close()


def both(backends: dict, query: str | CohortQuery, params: dict[str, str] | None = None) -> Table:
    """Run a query on every backend (the embedded store, Oxigraph, Virtuoso when installed), assert identical
    answers, return one."""
    q = query if isinstance(query, CohortQuery) else load_query(query)
    embedded = run_query(backends["embedded"], q, params or {})
    for name in ("endpoint", "virtuoso"):
        if name in backends:
            answer = run_query(backends[name], q, params or {})
            assert embedded == answer, f"{q.name} {params}: the embedded store and {name} disagree"
    return embedded


def skip_without_virtuoso(backends: dict) -> None:
    if "virtuoso" not in backends:
        pytest.skip(f"Virtuoso is not installed (virtuoso-t); `make virtuoso` installs Debian's {DEBIAN_PACKAGE}")


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


@pytest.mark.parametrize("server", ["endpoint", "virtuoso"], ids=["oxigraph", "virtuoso"])
@pytest.mark.parametrize(("name", "params"), PARAM_CASES, ids=[f"{n}-{'-'.join(p) or 'default'}"
                                                               for n, p in PARAM_CASES])
def test_query_identical_on_store_and_server(backends: dict, server: str, name: str, params: dict[str, str]) -> None:
    if server == "virtuoso":
        skip_without_virtuoso(backends)
    q = load_query(name)
    table = run_query(backends["embedded"], q, params)
    assert table.rows, f"{name} answered nothing"
    assert table.columns == q.columns
    assert run_query(backends[server], q, params) == table, f"{name} {params}: the embedded store and {server} disagree"


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


# ---------------------------------------------------------------- every store holds the same graphs, no blank node
def test_every_backend_holds_the_same_graphs_without_blank_nodes(backends: dict) -> None:
    per_graph = ("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                 "FILTER (STRSTARTS(STR(?g), 'https://eligo.dev/')) } GROUP BY ?g ORDER BY ?g")
    blank = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) } }"
    components = ("PREFIX eligo: <https://eligo.dev/ns#> SELECT ?o ?k WHERE { GRAPH ?g { ?o eligo:component ?k } } "
                  "ORDER BY ?k")
    one = ("SELECT ?s ?p ?o WHERE { GRAPH <https://eligo.dev/graph/patient/Patient%2Fsynth-000007> { ?s ?p ?o } } "
           "ORDER BY ?s ?p ?o")
    expected = {q: backends["embedded"].select(q) for q in (per_graph, blank, components, one)}
    assert len(expected[per_graph].rows) == N + 3  # the patients, the terms, the trial, the run
    assert text_value(expected[blank].rows[0][0]) == "0"
    links = expected[components].rows
    assert links and all(text_value(k).startswith(text_value(o) + "/component/") for o, k in links), \
        "FHIR components are IRIs under their observation's"
    for name, backend in backends.items():
        for q, table in expected.items():
            assert backend.select(q) == table, f"{name}: {q}"


# ---------------------------------------------------------------- Virtuoso: both load routes, credentials, refusals
ROUTE_TTL_EXTRA = """
ex:bone a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/bone-lesion" ;
    eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#bone-lesion> ; eligo:date "2026-11-20"^^xsd:date ;
    eligo:component [ a eligo:Component ; eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#irradiated-site> ;
                      eligo:valueBoolean false ] ,
                    [ a eligo:Component ; eligo:code <https://eligo.dev/fhir/CodeSystem/eligo#bone-scan-only> ;
                      eligo:valueBoolean false ] .
"""


@pytest.fixture
def loaded_trial(trial: Trial, monkeypatch: pytest.MonkeyPatch) -> Trial:
    """`eligo load` given the session's trial instead of loading the trial folder again (seconds)."""
    monkeypatch.setattr(Trial, "load", classmethod(lambda _cls, *_a, **_k: trial))
    return trial


def test_virtuoso_loads_the_same_graphs_through_update_and_graph_store(
        backends: dict, virtuoso: Virtuoso | None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        loaded_trial: Trial) -> None:
    skip_without_virtuoso(backends)
    assert virtuoso is not None
    from eligo.paths import EXAMPLES_DIR

    patient = tmp_path / "route.ttl"  # RDF input with blank nodes: skolemised under the patient's key
    patient.write_text((EXAMPLES_DIR / "eligible.ttl").read_text(encoding="utf-8").replace(
        '"Patient/eligible"', '"Patient/route-test"') + ROUTE_TTL_EXTRA, encoding="utf-8")
    graph = "<https://eligo.dev/graph/patient/Patient%2Froute-test>"
    dump = f"SELECT ?s ?p ?o WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }} ORDER BY ?s ?p ?o"
    server = SparqlEndpoint(virtuoso.query_url)
    try:
        assert main(["load", str(patient), "--no-screen", "--endpoint", virtuoso.query_url]) == 0
        assert "1 patient graphs" in capsys.readouterr().out
        by_update = server.select(dump)
        server.update(f"DROP SILENT GRAPH {graph}")
        assert main(["load", str(patient), "--no-screen", "--endpoint", virtuoso.query_url,
                     "--graph-store", virtuoso.graph_store_url]) == 0
        by_graph_store = server.select(dump)
        with EmbeddedStore(tmp_path / "db", create=True) as store:
            load_patients(store, [patient])
            embedded = store.select(dump)
    finally:
        server.update(f"DROP SILENT GRAPH {graph}")
    skolem = [t for t in texts(embedded, "s") if "/.well-known/genid/patient/Patient%2Froute-test/" in t]
    assert len(set(skolem)) == 2, "the two components' blank nodes"
    assert by_update == by_graph_store == embedded


def test_virtuoso_with_digest_credentials(backends: dict, virtuoso: Virtuoso | None, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    skip_without_virtuoso(backends)
    assert virtuoso is not None
    from eligo.population.store import PASSWORD_ENV, Credentials

    argv = ["cohort", "candidates", "--endpoint", virtuoso.auth_query_url, "--endpoint-user", virtuoso.user,
            "--endpoint-auth", "digest", "--format", "json"]
    monkeypatch.setenv(PASSWORD_ENV, virtuoso.password)
    assert main(argv) == 0
    got = {r["patient"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert got == set(texts(both(backends, "candidates"), "patient"))
    monkeypatch.delenv(PASSWORD_ENV)
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {virtuoso.user} password {virtuoso.password}\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert main(argv) == 0
    capsys.readouterr()
    monkeypatch.setenv(PASSWORD_ENV, "not-" + virtuoso.password)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "HTTP 401" in err and virtuoso.password not in err and err.count("\n") == 1
    monkeypatch.setenv(PASSWORD_ENV, virtuoso.password)
    assert main([*argv[:-4], "--endpoint-auth", "basic"]) == 2
    assert "needs --endpoint-auth digest" in capsys.readouterr().err
    writer = SparqlEndpoint(virtuoso.auth_query_url, graph_store_url=virtuoso.auth_graph_store_url,
                            credentials=Credentials(virtuoso.user, virtuoso.password, "digest"))
    g = NamedNode("urn:eligo:test:auth")
    try:
        writer.replace_graphs([(g, [Triple(NamedNode("urn:a"), NamedNode("urn:b"), Literal("c"))])])
        assert len(writer.select(f"SELECT * WHERE {{ GRAPH {g} {{ ?s ?p ?o }} }}").rows) == 1
    finally:
        writer.update(f"DROP SILENT GRAPH {g}")


VIRTUOSO_TRIPS = """# Trips Virtuoso 7.2: a BIND next to a MINUS, in a subquery under MINUS (prescreen's first form).
# Purpose: test.
# Columns: patient, graph
PREFIX eligo: <https://eligo.dev/ns#>
PREFIX eterm: <https://eligo.dev/terms#>
PREFIX rdfs:  <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?patient ?graph WHERE {
  { SELECT DISTINCT ?graph WHERE { GRAPH ?graph { ?c a eligo:Condition } } }
  GRAPH ?graph { ?p a eligo:Patient ; eligo:sourceId ?patient }
  MINUS {
    SELECT DISTINCT ?graph WHERE {
      GRAPH <https://eligo.dev/graph/terms> { ?mCode rdfs:subClassOf eterm:AntiHER2ADC }
      GRAPH ?graph { ?m eligo:code ?mCode ; a eligo:MedicationExposure . OPTIONAL { ?m eligo:date ?mOn } }
      MINUS { GRAPH ?graph { ?m eligo:status ?mStatus . FILTER (?mStatus IN ("not-taken", "entered-in-error")) } }
      BIND (STR(?mOn) AS ?mWhen)
    }
  }
}
"""


def test_virtuoso_refusals_are_eligo_errors_with_the_servers_message(
        backends: dict, virtuoso: Virtuoso | None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        loaded_trial: Trial) -> None:
    skip_without_virtuoso(backends)
    assert virtuoso is not None
    url = virtuoso.query_url
    everything = tmp_path / "everything.rq"
    everything.write_text("# Every triple.\n# Purpose: test.\n# Columns: s, p, o\n"
                          "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }\n", encoding="utf-8")
    assert main(["cohort", str(everything), "--endpoint", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"eligo: error: {url}: query everything: the server cut the answer at 10000 rows")
    assert "ResultSetMaxRows" in err and err.count("\n") == 1
    assert main(["load", str(everything.parent), "--no-screen", "--endpoint", virtuoso.auth_query_url]) == 2
    err = capsys.readouterr().err
    assert f"{virtuoso.auth_query_url}: load: reference graphs (term hierarchy, trial)" in err
    assert "HTTP 401" in err and "asks for Digest" in err and err.count("\n") == 1
    trips = tmp_path / "trips.rq"
    trips.write_text(VIRTUOSO_TRIPS, encoding="utf-8")
    code = main(["cohort", str(trips), "--endpoint", url])
    out, err = capsys.readouterr()
    if code == 0:  # a later Virtuoso compiles it: then it must answer what the embedded store answers
        expected = run_query(backends["embedded"], load_query(str(trips)), {})
        assert run_query(backends["virtuoso"], load_query(str(trips)), {}) == expected
        return
    assert code == 2 and err.startswith(f"eligo: error: {url}: query trips: the server refused the request "
                                        "(HTTP 400 Bad Request): Virtuoso 37000 Error SP031")
    assert "probably the SPARQL query is badly formed" not in err and err.count("\n") == 1
