"""Talking to SPARQL endpoints: skolemised blank nodes, credentials, and errors that say what the server said.

A small local HTTP server plays the endpoint where a real one cannot be made to misbehave on demand (HTTP basic
authentication, a server-side time limit, a row cap, a request too large); a real `oxigraph serve --timeout-s`
checks Oxigraph's own way of stopping a query. The real Virtuoso is in tests/test_cohort.py.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Triple
from rdflib import BNode, Graph
from rdflib.compare import isomorphic

from eligo.cli import main
from eligo.errors import EndpointAuthError, EndpointError, EndpointTimeoutError, StoreError
from eligo.ingest.rdf import GENID_BASE, skolemise
from eligo.population.load import load_reference_graphs, patient_genid
from eligo.population.store import PASSWORD_ENV, Credentials, SparqlEndpoint, server_message
from eligo.trial import Trial
from oxigraph_server import oxigraph_server

SECRET = "s3cret-Pa55"  # noqa: S105 - a test password, checked never to appear in any message
EMPTY = {"head": {"vars": ["n"]}, "results": {"bindings": []}}

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Stub:
    """A local HTTP server: ``reply(path, headers, body)`` answers each request; requests are recorded."""

    reply: Callable[[str, dict[str, str], bytes], Reply]
    base: str = ""
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub(lambda _p, _h, _b: (200, {"Content-Type": "application/sparql-results+json"},
                                    json.dumps(EMPTY).encode()))

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items()}
            state.requests.append((self.path, headers, body))
            status, out_headers, out = state.reply(self.path, headers, body)
            self.server_version, self.sys_version = out_headers.get("Server", "stub"), ""
            self.send_response(status)
            for k, v in out_headers.items():
                if k != "Server":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_POST = do_PUT = do_GET = handle_one  # noqa: N815

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}


def rows(n: int) -> bytes:
    return json.dumps({"head": {"vars": ["n"]}, "results": {"bindings": [
        {"n": {"type": "literal", "value": str(i)}} for i in range(n)]}}).encode()


# ---------------------------------------------------------------- skolemisation
TURTLE = """@prefix eligo: <https://eligo.dev/ns#> .
<urn:p> a eligo:Patient ; eligo:record [ eligo:code <urn:c1> ; eligo:component [ eligo:value 1 ] ] ,
    [ eligo:code <urn:c2> ] , [ eligo:code <urn:c2> ] ; eligo:list ( 1 2 2 ) .
"""


def _unskolemise(g: Graph) -> Graph:
    out = Graph()
    for t in g:
        out.add(tuple(BNode(str(x)) if str(x).startswith(GENID_BASE) else x for x in t))  # type: ignore[arg-type]
    return out


def test_skolemise_replaces_every_blank_node_with_a_stable_scoped_iri() -> None:
    base = patient_genid("Patient/p 1")
    assert base == f"{GENID_BASE}patient/Patient%2Fp%201/"
    first = skolemise(Graph().parse(data=TURTLE, format="turtle"), base)
    second = skolemise(Graph().parse(data=TURTLE, format="turtle"), base)  # fresh random blank-node ids
    assert not any(isinstance(x, BNode) for t in first for x in t)
    assert set(first) == set(second), "the same input must give the same Skolem IRIs"
    original = Graph().parse(data=TURTLE, format="turtle")
    assert len(first) == len(original)
    assert isomorphic(_unskolemise(first), original), "skolemising must not change the graph's shape"
    minted = {x for t in first for x in t if str(x).startswith(GENID_BASE)}
    assert minted and all(str(x).startswith(base) for x in minted)
    assert len(minted) == len({x for t in original for x in t if isinstance(x, BNode)})
    plain = Graph().parse(data="<urn:a> <urn:b> <urn:c> .", format="turtle")
    assert skolemise(plain, base) is plain


def test_blank_nodes_never_go_into_an_update() -> None:
    endpoint = SparqlEndpoint("http://127.0.0.1:9/query", batch_triples=10)
    endpoint._server = "test"  # no probe
    with pytest.raises(StoreError, match="skolemise"):
        endpoint.replace_graphs([(NamedNode("urn:g"), [Triple(NamedNode("urn:a"), NamedNode("urn:b"),
                                                               BlankNode("x"))])])


def test_reference_graphs_are_skolemised_under_the_trial(tmp_path: Path, trial: Trial) -> None:
    from eligo.population.store import EmbeddedStore

    with EmbeddedStore(tmp_path / "db", create=True) as store:
        load_reference_graphs(store, trial)
        blank = store.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o FILTER (isBlank(?s) || "
                             "isBlank(?o)) } }").rows[0][0]
        skolem = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o FILTER (STRSTARTS(STR(?s), "
                              f"'{GENID_BASE}trial/{trial.id}/')) }} }}").rows[0][0]
    assert blank is not None and blank.value == "0"
    assert skolem is not None and int(skolem.value) > 100, "the trial's shapes hold many blank nodes"


# ---------------------------------------------------------------- credentials
def test_password_comes_from_the_environment_or_netrc_never_the_url(tmp_path: Path) -> None:
    url = "https://sparql.hospital.example:8443/sparql"
    c = Credentials.find(url, "ana", environ={PASSWORD_ENV: SECRET})
    assert (c.user, c.password, c.scheme) == ("ana", SECRET, "basic")
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine sparql.hospital.example login ana password {SECRET}\n", encoding="utf-8")
    netrc.chmod(0o600)
    assert Credentials.find(url, "ana", scheme="digest", environ={"NETRC": str(netrc)}).password == SECRET
    with pytest.raises(StoreError, match=f"no password for the endpoint user 'bob': set {PASSWORD_ENV}"):
        Credentials.find(url, "bob", environ={"NETRC": str(netrc)})
    with pytest.raises(StoreError, match="unknown authentication scheme"):
        Credentials("ana", SECRET, "ntlm")
    endpoint = SparqlEndpoint(url, credentials=c)
    assert SECRET not in repr(c) + repr(endpoint) + endpoint.description
    with pytest.raises(StoreError, match="--endpoint-user") as refused:
        SparqlEndpoint(f"https://ana:{SECRET}@sparql.hospital.example/sparql")
    assert SECRET not in str(refused.value)


def test_basic_credentials_go_with_the_first_request(stub: Stub) -> None:
    expected = "Basic " + base64.b64encode(f"ana:{SECRET}".encode()).decode()

    def reply(_path: str, headers: dict[str, str], _body: bytes) -> Reply:
        if headers.get("Authorization") != expected:
            return 401, {"WWW-Authenticate": 'Basic realm="hospital"'}, b""
        return 200, {"Content-Type": "application/sparql-results+json"}, rows(2)

    stub.reply = reply
    good = SparqlEndpoint(f"{stub.base}/sparql", credentials=Credentials("ana", SECRET))
    assert len(good.select("SELECT ?n WHERE {}").rows) == 2
    assert len(stub.requests) == 1, "basic authentication is sent with the request, not after a challenge"
    for bad in (Credentials("ana", "wrong-" + SECRET), None):
        with pytest.raises(EndpointAuthError, match=r"HTTP 401.*asks for Basic \(realm \"hospital\"\)") as refused:
            SparqlEndpoint(f"{stub.base}/sparql", credentials=bad).select("SELECT ?n WHERE {}", step="query x")
        assert SECRET not in str(refused.value)
        assert str(refused.value).startswith(f"{stub.base}/sparql: query x: ")


def test_cli_reads_the_password_from_the_environment(stub: Stub, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    stub.reply = lambda _p, h, _b: ((200, {"Content-Type": "application/sparql-results+json"}, json.dumps(
        {"head": {"vars": ["run", "trial", "indexDate", "patients", "shapesVersion", "startedAt", "endedAt",
                           "loadedAt"]}, "results": {"bindings": []}}).encode())
        if h.get("Authorization", "").startswith("Basic ") else (401, {}, b"who are you?"))
    argv = ["cohort", "runs", "--endpoint", f"{stub.base}/sparql", "--endpoint-user", "ana"]
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    assert main(argv) == 2
    assert f"set {PASSWORD_ENV}" in capsys.readouterr().err
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "(0 rows)" in out and SECRET not in out + err
    assert main(["cohort", "runs", "--store", str(tmp_path), "--endpoint-user", "ana"]) == 2
    assert "--endpoint-user only goes with --endpoint" in capsys.readouterr().err


# ---------------------------------------------------------------- errors say what the server said
def test_a_refusal_names_the_endpoint_the_step_and_the_servers_first_line(
        stub: Stub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    said = b"Virtuoso 37000 Error SP031: SPARQL compiler: Internal error\n\nSPARQL query:\nSELECT ..."
    stub.reply = lambda _p, _h, _b: (400, {"Content-Type": "text/plain", "Server": "Virtuoso/07.20"}, said)
    assert main(["cohort", "candidates", "--endpoint", f"{stub.base}/sparql"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"eligo: error: {stub.base}/sparql: query candidates: ")
    assert "HTTP 400" in err and "SP031: SPARQL compiler: Internal error" in err and "SPARQL query:" not in err
    assert "badly formed" not in err
    page = b"<html><head><title>x</title></head><body><h1>403 Forbidden</h1><p>nope</p></body></html>"
    stub.reply = lambda _p, _h, _b: (403, {"Content-Type": "text/html"}, page)
    with pytest.raises(EndpointAuthError, match="HTTP 403 Forbidden.*: 403 Forbidden"):
        SparqlEndpoint(f"{stub.base}/sparql").select("SELECT * {}")
    assert server_message(page, "text/html") == "403 Forbidden"


def test_time_limits_are_timeouts_with_the_limit_when_the_server_says_it(stub: Stub) -> None:
    cases = [
        (500, {"Server": "Virtuoso/07.20"}, b"Virtuoso S1T00 Error SR171: Transaction timed out\n\nSPARQL query:",
         r"SR171: Transaction timed out \(Virtuoso: MaxQueryExecutionTime"),
        (500, {}, b"Virtuoso 42000 Error The estimated execution time 580 (sec) exceeds the limit of 400 (sec).",
         r"the server's limit is 400 s"),
        (504, {}, b"upstream timed out", r"HTTP 504"),
    ]
    for status, headers, body, message in cases:
        stub.reply = lambda _p, _h, _b, s=status, h=headers, b=body: (s, {"Content-Type": "text/plain", **h}, b)
        with pytest.raises(EndpointTimeoutError, match=message):
            SparqlEndpoint(f"{stub.base}/sparql").select("SELECT * {}", step="query funnel")
    stub.reply = lambda _p, _h, _b: (200, {"X-SQL-State": "S1TAT", "X-SQL-Message": "RC...: Returning incomplete "
                                           "results, query interrupted by result timeout."}, rows(3))
    with pytest.raises(EndpointTimeoutError, match="partial results"):
        SparqlEndpoint(f"{stub.base}/sparql").select("SELECT * {}")


def test_eligos_own_wait_is_a_timeout_too(stub: Stub) -> None:
    def slow(_p: str, _h: dict[str, str], _b: bytes) -> Reply:
        time.sleep(2)
        return 200, {}, rows(1)

    stub.reply = slow
    with pytest.raises(EndpointTimeoutError, match="no answer within 1 s, eligo's limit"):
        SparqlEndpoint(f"{stub.base}/sparql", timeout=1).select("SELECT * {}")


def test_an_answer_cut_at_the_servers_row_limit_is_an_error(stub: Stub) -> None:
    stub.reply = lambda _p, _h, _b: (200, {"X-SPARQL-MaxRows": "5"}, rows(5))
    with pytest.raises(EndpointError, match="cut the answer at 5 rows.*ResultSetMaxRows"):
        SparqlEndpoint(f"{stub.base}/sparql").select("SELECT * {}")
    stub.reply = lambda _p, _h, _b: (200, {"X-SPARQL-MaxRows": "5"}, rows(4))
    assert len(SparqlEndpoint(f"{stub.base}/sparql").select("SELECT * {}").rows) == 4


def test_an_update_too_large_for_the_server_is_split(stub: Stub) -> None:
    def reply(path: str, _h: dict[str, str], body: bytes) -> Reply:
        if "update" not in form(body):
            return 200, {"Server": "Virtuoso/07.20"}, b'{"head":{},"boolean":true}'
        if form(body)["update"].count(" .\n") > 250:
            return 400, {}, b"Virtuoso 37000 Error SP031: SPARQL: Internal error: The length of generated SQL text " \
                            b"has exceeded 10000 lines of code"
        return 200, {}, b"ok"

    stub.reply = reply
    endpoint = SparqlEndpoint(f"{stub.base}/sparql")
    triples = [Triple(NamedNode(f"urn:s{i}"), NamedNode("urn:p"), Literal(str(i))) for i in range(1000)]
    endpoint.replace_graphs([(NamedNode("urn:g1"), triples), (NamedNode("urn:g2"), triples[:10])])
    updates = [form(b)["update"] for _p, _h, b in stub.requests if "update" in form(b)]
    assert all(u.startswith("define sql:big-data-const 1\n") for u in updates), "Virtuoso's own pragma"
    accepted = [u for u in updates if u.count(" .\n") <= 250]
    assert sum(u.count(" .\n") for u in accepted) == 1010, "every triple written once the size fits"
    assert sum("DROP SILENT GRAPH <urn:g1>" in u for u in accepted) == 1, "a split graph is dropped only once"
    assert endpoint.batch <= 250


def test_oxigraph_stopping_a_query_at_its_time_limit(tmp_path: Path) -> None:
    with oxigraph_server(tmp_path / "data", timeout_s=1) as server:
        endpoint = SparqlEndpoint(server.query_url, graph_store_url=server.store_url)
        endpoint.replace_graphs([(NamedNode("urn:g"), [Triple(NamedNode(f"urn:s{i}"), NamedNode("urn:p"),
                                                              Literal(str(i))) for i in range(30_000)])])
        with pytest.raises(EndpointTimeoutError, match="time limit.*--timeout-s"):  # 900 million rows to count
            endpoint.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } GRAPH ?h { ?a ?b ?c } }")

