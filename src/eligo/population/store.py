"""Population stores: an embedded on-disk Oxigraph store, or any SPARQL 1.1 endpoint.

Both hold named graphs (see ``docs/cohorts.md`` for the graph design) and
answer ``SELECT`` queries with the same :class:`Table`, so a query file gives
the same rows on a laptop and on the hospital's endpoint.

- :class:`EmbeddedStore` is a pyoxigraph ``Store`` in a folder (no server), written with Oxigraph's bulk
  loader (patient graphs arrive as N-Quads text: :meth:`Backend.replace_graphs_nquads`).
- :class:`SparqlEndpoint` speaks the SPARQL 1.1 protocol over HTTP (the
  standard library's ``urllib``, with HTTP basic or digest authentication):
  queries to the query URL, writes as SPARQL Update (``DROP SILENT GRAPH`` +
  ``INSERT DATA``) to the update URL, or, when a Graph Store URL is given, as
  Graph Store protocol ``PUT``/``POST`` of N-Triples. Blank nodes never go
  over the wire: ``eligo load`` skolemises them first
  (:func:`eligo.ingest.rdf.skolemise`), the same for every backend.

Errors name the endpoint, the step (``query data-gaps``, ``load: patient
graphs 51-100``) and the server's own message; a time limit is an
:class:`~eligo.errors.EndpointTimeoutError`, missing rights an
:class:`~eligo.errors.EndpointAuthError`.
"""

from __future__ import annotations

import html
import http.client
import netrc
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import NoReturn, Protocol

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    Quad,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Store,
    Triple,
    parse,
    parse_query_results,
    serialize,
)
from rdflib import Graph

from eligo.engine.batch_store import TermConverter as EngineTermConverter
from eligo.errors import EndpointAuthError, EndpointError, EndpointTimeoutError, StoreError

Term = NamedNode | BlankNode | Literal

#: Triples per SPARQL Update request (some servers refuse very large requests; a refused size is halved).
UPDATE_BATCH_TRIPLES = 10_000
#: Triples per request to Virtuoso 7, whose SPARQL parser runs out of stack near 5,000 triples in one request.
VIRTUOSO_BATCH_TRIPLES = 2_000
#: The smallest request eligo splits a refused one into.
MIN_BATCH_TRIPLES = 100


@dataclass(frozen=True, slots=True)
class Table:
    """The answer to a ``SELECT`` query: column names and rows of RDF terms (``None`` = unbound)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Term | None, ...], ...]

    def column(self, name: str) -> list[Term | None]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def records(self) -> list[dict[str, Term | None]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


GraphContent = tuple[NamedNode, Sequence[Triple]]


class UnstorableData(StoreError):
    """N-Quads text given to :meth:`Backend.replace_graphs_nquads` does not parse (an IRI or literal the
    store refuses): the data's fault, not the store's."""


def graphs_of_nquads(graphs: Sequence[NamedNode], nquads: str, *, step: str) -> list[GraphContent]:
    """The triples of each of ``graphs`` in N-Quads text (a graph with no quad: none), parsed by Oxigraph,
    for a backend that writes triples; :class:`UnstorableData` when the text does not parse."""
    content: dict[NamedNode, list[Triple]] = {g: [] for g in graphs}
    try:
        for q in parse(nquads, format=RdfFormat.N_QUADS):
            triples = content.get(q.graph_name)
            if triples is None:
                raise UnstorableData(f"{step}: a quad in {q.graph_name}, not one of the graphs written")
            triples.append(q.triple)
    except SyntaxError as exc:
        raise UnstorableData(f"{step}: {_one_line(str(exc))}") from None
    return list(content.items())


class Backend(Protocol):
    """What eligo needs from a population store."""

    description: str

    def replace_graphs(self, graphs: Sequence[GraphContent], *, step: str = ...) -> None:
        """Make each named graph hold exactly the given triples (``step`` names the write in errors)."""

    def replace_graphs_nquads(self, graphs: Sequence[NamedNode], nquads: str, *, step: str = ...) -> None:
        """Make each of ``graphs`` hold exactly its quads of ``nquads`` (N-Quads text, every quad in one of
        ``graphs``). Text that does not parse raises :class:`UnstorableData`; the graphs may then be
        partly written (an embedded store's bulk loader), but no other graph is touched."""

    def add_to_graph(self, graph: NamedNode, triples: Sequence[Triple], *, step: str = ...) -> None:
        """Add triples to a named graph, keeping what it holds."""

    def select(self, query: str, *, step: str = ...) -> Table:
        """Run a ``SELECT`` query (``step`` names it in errors: ``query data-gaps``)."""

    def close(self) -> None:
        """Release the store (flushes an embedded store)."""


# ---------------------------------------------------------------- rdflib -> pyoxigraph
class TermConverter(EngineTermConverter):
    """The engine's conversion of rdflib terms to pyoxigraph terms, with store errors."""

    def term(self, t: object) -> Term:
        try:
            return super().term(t)  # type: ignore[arg-type]
        except TypeError:
            raise StoreError(f"cannot store the RDF term {t!r}") from None

    def triples(self, graph: Graph) -> list[Triple]:
        """Every triple of an rdflib graph, as pyoxigraph triples."""
        out = []
        for s, p, o in graph:
            try:
                out.append(Triple(self.term(s), self.term(p), self.term(o)))  # type: ignore[arg-type]
            except ValueError as exc:  # an IRI Oxigraph finds invalid
                raise StoreError(f"the triple {s} {p} {o} cannot be stored: {exc}") from exc
        return out


def _table(solutions: QuerySolutions) -> Table:
    variables = list(solutions.variables)
    rows = tuple(tuple(sol[v] for v in variables) for sol in solutions)
    return Table(tuple(v.value for v in variables), rows)


_XSD = "http://www.w3.org/2001/XMLSchema#"
_BOOLEAN = NamedNode(_XSD + "boolean")
_CANONICAL_BOOLEAN = {"1": Literal("true", datatype=_BOOLEAN), "0": Literal("false", datatype=_BOOLEAN)}
_TIMES = {_XSD + "dateTime", _XSD + "time", _XSD + "dateTimeStamp"}
_TRAILING_ZEROS = re.compile(r"(\.\d*?)0+(?=$|Z|[+-]\d\d:\d\d$)")


def _canonical(term: Term | None) -> Term | None:
    """A literal an endpoint answered, in the canonical form the embedded store gives the same value: Virtuoso
    answers ``"1"^^xsd:boolean`` and ``"...T12:00:15.120Z"`` where Oxigraph answers ``"true"`` and
    ``"...T12:00:15.12Z"`` (XSD's canonical forms: no trailing zero in the fraction of a second)."""
    if not isinstance(term, Literal):
        return term
    datatype = term.datatype
    if datatype == _BOOLEAN and term.value in _CANONICAL_BOOLEAN:
        return _CANONICAL_BOOLEAN[term.value]
    if datatype.value in _TIMES and "." in term.value:
        value = _TRAILING_ZEROS.sub(lambda m: m.group(1).rstrip("."), term.value)
        return term if value == term.value else Literal(value, datatype=datatype)
    return term


def _needs_canonical(term: Term | None) -> bool:
    return isinstance(term, Literal) and (term.datatype == _BOOLEAN or term.datatype.value in _TIMES)


# ---------------------------------------------------------------- embedded
class EmbeddedStore:
    """An on-disk pyoxigraph store in a folder. One process may write it at a time."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        self.description = f"store {path}"
        if not create and not path.is_dir():
            raise StoreError("no population store here; create one with `eligo load INPUT... --store DIR`",
                             source=str(path))
        try:
            path.mkdir(parents=True, exist_ok=True)
            self._store: Store | None = Store(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the store ({exc}); is another eligo process using it?",
                             source=str(path)) from exc

    @property
    def store(self) -> Store:
        if self._store is None:
            raise StoreError("the store is closed", source=str(self.path))
        return self._store

    def _remove_graphs(self, graphs: Iterable[NamedNode]) -> None:
        for name in graphs:
            if self.store.contains_named_graph(name):
                self.store.remove_graph(name)

    def replace_graphs(self, graphs: Sequence[GraphContent], *, step: str = "write graphs") -> None:
        self._remove_graphs(name for name, _ in graphs)
        # Oxigraph's bulk loader: three times cheaper than a transaction on disk (not atomic; eligo writes a run
        # node last, so a run is visible only when all its results are in)
        self.store.bulk_extend(Quad(t.subject, t.predicate, t.object, name) for name, triples in graphs
                               for t in triples)

    def replace_graphs_nquads(self, graphs: Sequence[NamedNode], nquads: str, *,
                              step: str = "write graphs") -> None:
        """Remove the graphs, then Oxigraph's bulk loader parses the text straight into the store (several
        times faster than a transaction on disk; not atomic: a syntax error may leave part of the text
        written)."""
        self._remove_graphs(graphs)
        try:
            self.store.bulk_load(nquads.encode("utf-8"), format=RdfFormat.N_QUADS)
        except SyntaxError as exc:
            raise UnstorableData(f"{step}: {_one_line(str(exc))}") from None
        except OSError as exc:
            raise StoreError(f"{step}: cannot write the store: {exc}", source=str(self.path)) from exc

    def add_to_graph(self, graph: NamedNode, triples: Sequence[Triple], *, step: str = "write graph") -> None:
        self.store.bulk_extend(Quad(t.subject, t.predicate, t.object, graph) for t in triples)

    def select(self, query: str, *, step: str = "query") -> Table:
        try:
            result = self.store.query(query)
        except SyntaxError as exc:
            raise StoreError(f"{step}: the query is not valid SPARQL: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{step}: cannot read the store: {exc}", source=str(self.path)) from exc
        if not isinstance(result, QuerySolutions):
            raise StoreError(f"{step}: only SELECT queries can be run here")
        return _table(result)

    def close(self) -> None:
        if self._store is not None:
            self._store.flush()
            self._store = None

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- SPARQL endpoint
#: The environment variable eligo reads an endpoint password from (never from the command line).
PASSWORD_ENV = "ELIGO_ENDPOINT_PASSWORD"
AUTH_SCHEMES = ("basic", "digest")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user and password for an endpoint (HTTP basic or digest). The password is never shown."""

    user: str
    password: str = field(repr=False)
    scheme: str = "basic"

    def __post_init__(self) -> None:
        if self.scheme not in AUTH_SCHEMES:
            raise StoreError(f"unknown authentication scheme {self.scheme!r}; use one of {', '.join(AUTH_SCHEMES)}")

    @staticmethod
    def find(url: str, user: str, *, scheme: str = "basic", environ: Mapping[str, str] | None = None,
             netrc_file: Path | None = None) -> Credentials:
        """The password of ``user`` at ``url``: the ``ELIGO_ENDPOINT_PASSWORD`` environment variable, else the
        netrc entry (``$NETRC`` or ``~/.netrc``) of the URL's host whose login is ``user``."""
        env = os.environ if environ is None else environ
        password = env.get(PASSWORD_ENV)
        if password:
            return Credentials(user, password, scheme)
        host = urllib.parse.urlsplit(url).hostname or ""
        path = netrc_file or Path(env.get("NETRC") or Path.home() / ".netrc")
        if path.is_file():
            try:
                entry = netrc.netrc(str(path)).authenticators(host)
            except (netrc.NetrcParseError, OSError) as exc:
                raise StoreError(f"cannot read the netrc file: {exc}", source=str(path)) from None
            if entry is not None and entry[0] in (user, "") and entry[2]:
                return Credentials(user, entry[2], scheme)
        raise StoreError(f"no password for the endpoint user {user!r}: set {PASSWORD_ENV}, or add "
                         f"`machine {host} login {user} password ...` to {path} (never give it on the command line)")


def default_update_url(query_url: str) -> str:
    """Oxigraph and Fuseki answer updates at ``.../update`` next to ``.../query``; others at the same URL."""
    if query_url.rstrip("/").endswith("/query"):
        return query_url.rstrip("/")[: -len("query")] + "update"
    return query_url


def _ntriples(triples: Iterable[Triple]) -> str:
    data = serialize(list(triples), format=RdfFormat.N_TRIPLES)
    return data.decode("utf-8") if data is not None else ""


#: Server messages that mean the server stopped a request at a time limit.
_TIMEOUT_MESSAGE = re.compile(r"time[ -]?out|timed out|S1T00|SR171|exceeds the limit|execution time", re.I)
#: Server messages that mean a request was too large (HTTP 413; Virtuoso: parser stack, generated SQL, code vector).
_TOO_LARGE = re.compile(r"HTTP 413|too large|memory exhausted|generated SQL text has exceeded|SQ199", re.I)
#: Server messages that mean the user lacks a right.
_PERMISSION_MESSAGE = re.compile(r"SECURITY|permission|not authori[sz]ed|forbidden|access denied", re.I)
#: What Oxigraph writes into a streamed answer when its --timeout-s is up.
_CANCELLED = re.compile(r"cancel+ed|time[ -]?out|timed out", re.I)
#: A limit in seconds named in a server's message ("... exceeds the limit of 400 (sec)").
_LIMIT = re.compile(r"limit (?:of )?(\d+(?:\.\d+)?) ?\(?(?:s\b|sec|seconds?)", re.I)


def server_message(body: bytes, content_type: str = "") -> str:
    """The first line of what a server said (tags stripped from an HTML page), at most 300 characters."""
    text = body.decode("utf-8", "replace")
    if "html" in content_type.lower() or text.lstrip().lower().startswith(("<!doctype", "<html")):
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", text)
        text = html.unescape(re.sub(r"(?s)<br\s*/?>|</(?:p|h\d|div|title|pre)>", "\n", text))
        text = re.sub(r"(?s)<[^>]*>", " ", text)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return _one_line(first)


class SparqlEndpoint:
    """A SPARQL 1.1 endpoint over HTTP: SPARQL protocol queries and updates, or Graph Store protocol writes.

    Every request is an HTTP POST (PUT for a Graph Store replace) made with the standard library, with HTTP
    basic (sent with every request) or digest (answering the server's challenge, any realm) authentication
    when ``credentials`` are given. A refusal or failure raises an :class:`EndpointError` that names the
    endpoint, the step and the server's own message.
    """

    def __init__(self, query_url: str, *, update_url: str | None = None, graph_store_url: str | None = None,
                 timeout: int = 600, batch_triples: int | None = None,
                 credentials: Credentials | None = None) -> None:
        for url in (query_url, update_url, graph_store_url):
            if url is None:
                continue
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise StoreError(f"{_redact(url)!r} is not an http(s) URL")
            if parts.username is not None or parts.password is not None:
                raise StoreError(f"{_redact(url)}: put the user in --endpoint-user and the password in {PASSWORD_ENV} "
                                 "or ~/.netrc, not in the URL (a command line is visible to every local user)")
        self.query_url = query_url
        self.update_url = update_url or default_update_url(query_url)
        self.graph_store_url = graph_store_url
        self.timeout = timeout
        self.batch_triples = batch_triples
        self._batch: int | None = None
        self._server: str | None = None  # the Server header of the first answer
        self.credentials = credentials
        who = f" as {credentials.user}" if credentials is not None else ""
        self.description = f"endpoint {query_url}{who}"
        self._opener = _opener(credentials, [u for u in (query_url, self.update_url, graph_store_url) if u])

    def __repr__(self) -> str:
        return f"SparqlEndpoint({self.query_url!r}, update_url={self.update_url!r}, " \
               f"graph_store_url={self.graph_store_url!r}, credentials={self.credentials!r})"

    # -- queries
    def select(self, query: str, *, step: str = "query") -> Table:
        body = urllib.parse.urlencode({"query": query}).encode("ascii")
        data, headers = self._send("POST", self.query_url, body, "application/x-www-form-urlencoded", step,
                                   source=self.query_url, accept="application/sparql-results+json")
        try:
            result = parse_query_results(data, QueryResultsFormat.JSON)
            if not isinstance(result, QuerySolutions):
                raise EndpointError(f"{step}: the endpoint answered a SELECT query with a boolean",
                                    source=self.query_url)
            table = _table(result)  # parsed while read
            if any(_needs_canonical(t) for r in table.rows for t in r):
                table = Table(table.columns, tuple(tuple(_canonical(t) for t in r) for r in table.rows))
        except (SyntaxError, ValueError) as exc:
            tail = re.split(r"[\[\]{},]", data[-500:].decode("utf-8", "replace"))[-1].strip()
            if _CANCELLED.search(tail):  # Oxigraph streams the rows, then this line when --timeout-s is up
                raise EndpointTimeoutError(f"{step}: the server stopped the query at its time limit and said "
                                           f"{tail!r} (oxigraph serve: --timeout-s)", source=self.query_url) from exc
            raise EndpointError(f"{step}: the answer is not SPARQL JSON results ({_one_line(str(exc))}): "
                                f"{server_message(data)}", source=self.query_url) from exc
        cap = headers.get("X-SPARQL-MaxRows", "")
        if cap.isdigit() and len(table.rows) >= int(cap):  # Virtuoso cuts answers at ResultSetMaxRows silently
            raise EndpointError(f"{step}: the server cut the answer at {cap} rows, its limit (Virtuoso: "
                                "ResultSetMaxRows in the [SPARQL] section of virtuoso.ini); raise it above the "
                                "largest answer", source=self.query_url)
        return table

    def update(self, text: str, *, step: str = "update") -> None:
        """Run a SPARQL 1.1 Update at the update URL."""
        body = urllib.parse.urlencode({"update": text}).encode("utf-8")
        self._post(self.update_url, body, "application/x-www-form-urlencoded", step)

    # -- writes
    def replace_graphs(self, graphs: Sequence[GraphContent], *, step: str = "write graphs") -> None:
        if self.graph_store_url is not None:
            for name, triples in graphs:
                self._graph_store("PUT", name, triples, step)
            return
        self._identify(step)
        batch: list[GraphContent] = []
        size = 0
        for name, triples in graphs:
            if batch and size + len(triples) > self.batch:
                self._write(batch, drop=True, step=step)
                batch, size = [], 0
            batch.append((name, triples))
            size += len(triples)
        if batch:
            self._write(batch, drop=True, step=step)

    def replace_graphs_nquads(self, graphs: Sequence[NamedNode], nquads: str, *,
                              step: str = "write graphs") -> None:
        """Parsed here (nothing is sent when the text does not parse), then written as
        :meth:`replace_graphs` writes triples, so every route sends what it always has."""
        self.replace_graphs(graphs_of_nquads(graphs, nquads, step=step), step=step)

    def add_to_graph(self, graph: NamedNode, triples: Sequence[Triple], *, step: str = "write graph") -> None:
        if self.graph_store_url is not None:
            self._graph_store("POST", graph, triples, step)
            return
        self._write([(graph, triples)], drop=False, step=step)

    @property
    def batch(self) -> int:
        """Triples per SPARQL Update request: the given size, else the server's (after one probe)."""
        if self._batch is None:
            self._batch = self.batch_triples or (VIRTUOSO_BATCH_TRIPLES if self.virtuoso else UPDATE_BATCH_TRIPLES)
        return self._batch

    @property
    def virtuoso(self) -> bool:
        """Whether the server is OpenLink Virtuoso (its ``Server`` header says so)."""
        self._identify("identify the server")
        return (self._server or "").lower().startswith("virtuoso")

    def _identify(self, step: str) -> None:
        """Learn the server's name (its ``Server`` header) with an ``ASK {}`` query, once."""
        if self._server is None:
            self._send("POST", self.query_url, urllib.parse.urlencode({"query": "ASK {}"}).encode("ascii"),
                       "application/x-www-form-urlencoded", step, source=self.query_url,
                       accept="application/sparql-results+json")

    def _write(self, graphs: Sequence[GraphContent], *, drop: bool, step: str) -> None:
        """Write graphs (replacing them with ``drop``) in requests of at most :attr:`batch` triples; a request
        the server finds too large is split in two, and later requests are kept to the smaller size."""
        self._identify(step)
        total = sum(len(t) for _, t in graphs)
        if total > self.batch:
            if len(graphs) > 1:
                half = len(graphs) // 2
                self._write(graphs[:half], drop=drop, step=step)
                self._write(graphs[half:], drop=drop, step=step)
                return
            name, triples = graphs[0]
            done = self.batch
            self._write([(name, triples[:done])], drop=drop, step=step)
            while done < len(triples):  # the batch may shrink on the way
                size = self.batch
                self._write([(name, triples[done:done + size])], drop=False, step=step)
                done += size
            return
        try:
            self._update(graphs, drop=drop, step=step)
        except EndpointError as exc:
            if total <= MIN_BATCH_TRIPLES or not _TOO_LARGE.search(exc.message):
                raise
            self._batch = max(MIN_BATCH_TRIPLES, total // 2)
            self._write(graphs, drop=drop, step=step)

    def _update(self, graphs: Sequence[GraphContent], *, drop: bool, step: str) -> None:
        for _name, triples in graphs:
            for t in triples:
                if isinstance(t.subject, BlankNode) or isinstance(t.object, BlankNode):
                    raise StoreError(f"{step}: a blank node cannot go into INSERT DATA on every server "
                                     f"({t}); skolemise the graph first (eligo.ingest.rdf.skolemise)")
        # Virtuoso compiles INSERT DATA to SQL, one statement per triple, unless its constants go in as one
        # batch (its own pragma): 25 times faster, and above about 1,500 triples the only way it accepts.
        parts = ["define sql:big-data-const 1\n"] if self.virtuoso else []
        parts += [f"DROP SILENT GRAPH {name} ;\n" for name, _ in graphs] if drop else []
        parts.append("INSERT DATA {\n")
        for name, triples in graphs:
            parts.append(f"GRAPH {name} {{\n{_ntriples(triples)}}}\n")
        parts.append("}\n")
        self.update("".join(parts), step=step)

    def _graph_store(self, method: str, graph: NamedNode, triples: Sequence[Triple], step: str) -> None:
        assert self.graph_store_url is not None
        sep = "&" if "?" in self.graph_store_url else "?"
        url = f"{self.graph_store_url}{sep}{urllib.parse.urlencode({'graph': graph.value})}"
        self._send(method, url, _ntriples(triples).encode("utf-8"), "application/n-triples",
                   f"{step} (Graph Store {method} of {graph.value})", source=self.graph_store_url)

    # -- HTTP
    def _post(self, url: str, body: bytes, content_type: str, step: str) -> bytes:
        return self._send("POST", url, body, content_type, step, source=url)[0]

    def _send(self, method: str, url: str, body: bytes, content_type: str, step: str, *, source: str,
              accept: str | None = None) -> tuple[bytes, Message]:
        """One request; the answer's body and headers, or an error naming the step and the server's message."""
        headers = {"Content-Type": content_type, "User-Agent": f"eligo/{_version()}"}
        if accept is not None:
            headers["Accept"] = accept
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                if self._server is None:
                    self._server = response.headers.get("Server", "")
                data = bytes(response.read())
                _check_complete(response.headers, step, source)
                return data, response.headers
        except urllib.error.HTTPError as exc:
            if self._server is None and exc.headers:
                self._server = exc.headers.get("Server", "")
            try:
                said = server_message(exc.read(), exc.headers.get("Content-Type", "") if exc.headers else "")
            except (OSError, http.client.HTTPException):
                said = ""
            sql_message = exc.headers.get("X-SQL-Message", "") if exc.headers else ""
            if exc.code == 401 and exc.headers and not said:
                said = _challenge(exc.headers.get_all("WWW-Authenticate") or [])
            _raise_refusal(exc.code, str(exc.reason), said, step, source, sql_message, self._limit_hint(),
                           self._auth_hint())
        except TimeoutError as exc:
            raise EndpointTimeoutError(f"{step}: no answer within {self.timeout} s, eligo's limit for one request "
                                       "(the server may still be working on it)", source=source) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise EndpointTimeoutError(f"{step}: no answer within {self.timeout} s, eligo's limit for one "
                                           "request (the server may still be working on it)", source=source) from exc
            raise StoreError(f"cannot reach the SPARQL endpoint ({_reason(exc)}); is the server running?",
                             source=source) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise StoreError(f"cannot reach the SPARQL endpoint ({_reason(exc)}); is the server running?",
                             source=source) from exc

    def _auth_hint(self) -> str:
        """What to try when the server refuses the request for want of credentials or rights."""
        if self.credentials is None:
            return f"give --endpoint-user, with the password in {PASSWORD_ENV} or ~/.netrc"
        if self.credentials.scheme == "basic":
            return (f"check {self.credentials.user}'s password and rights; a server that wants digest "
                    "authentication (Virtuoso's /sparql-auth) needs --endpoint-auth digest")
        return f"check {self.credentials.user}'s password and rights on the server"

    def _limit_hint(self) -> str:
        """Where the server's time limit is set, when eligo knows the server."""
        if (self._server or "").lower().startswith("virtuoso"):
            return ("Virtuoso: MaxQueryExecutionTime, 60 s unless changed, and MaxQueryCostEstimationTime for its "
                    "estimate, in the [SPARQL] section of virtuoso.ini")
        if (self._server or "").lower().startswith("oxigraph"):
            return "oxigraph serve: --timeout-s"
        return ""

    def close(self) -> None:
        return None

    def __enter__(self) -> SparqlEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _opener(credentials: Credentials | None, urls: list[str]) -> urllib.request.OpenerDirector:
    if credentials is None:
        return urllib.request.build_opener()
    handler: urllib.request.BaseHandler
    if credentials.scheme == "basic":  # sent with the first request, not only after a challenge
        prior = urllib.request.HTTPPasswordMgrWithPriorAuth()
        for url in urls:
            prior.add_password(None, url, credentials.user, credentials.password, is_authenticated=True)
        handler = urllib.request.HTTPBasicAuthHandler(prior)
    else:  # digest answers the server's challenge, whatever its realm
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        for url in urls:
            manager.add_password(None, url, credentials.user, credentials.password)
        handler = urllib.request.HTTPDigestAuthHandler(manager)
    return urllib.request.build_opener(handler)


def _check_complete(headers: Message, step: str, source: str) -> None:
    """Virtuoso answers a query stopped at its execution limit with HTTP 200 and the rows found so far ("anytime
    query"), saying so only in ``X-SQL-State``; partial rows must not pass for the answer."""
    state = headers.get("X-SQL-State", "")
    if not state:
        return
    said = _one_line(headers.get("X-SQL-Message", ""))
    if state.startswith("S1T"):
        raise EndpointTimeoutError(f"{step}: the server stopped at its execution limit and sent partial results "
                                   f"({state}: {said}); raise MaxQueryExecutionTime in virtuoso.ini", source=source)
    raise EndpointError(f"{step}: the server reported {state}: {said}", source=source)


def _raise_refusal(code: int, reason: str, said: str, step: str, source: str, sql_message: str,
                   limit_hint: str = "", auth_hint: str = "") -> NoReturn:
    """The error for an HTTP error answer: a time limit, a missing right, or any other refusal."""
    detail = said or _one_line(sql_message) or "(no message)"
    status = f"HTTP {code} {reason}".rstrip()
    if code in (408, 504) or _TIMEOUT_MESSAGE.search(detail):
        limit = _LIMIT.search(detail)
        known = f"the server's limit is {limit.group(1)} s" if limit else limit_hint
        raise EndpointTimeoutError(f"{step}: the server stopped at a time limit ({status}): {detail}"
                                   + (f" ({known})" if known else ""), source=source)
    if code in (401, 403, 407) or _PERMISSION_MESSAGE.search(detail):
        raise EndpointAuthError(f"{step}: the server refused the credentials or rights ({status}): {detail} "
                                f"({auth_hint or 'see docs/cohorts.md'})", source=source)
    raise EndpointError(f"{step}: the server refused the request ({status}): {detail}", source=source)


def _challenge(headers: list[str]) -> str:
    """What a 401 answer asks for (scheme and realm, never the nonce): ``the server asks for Digest
    authentication (realm "SPARQL")``."""
    asked = []
    for value in headers:
        m = re.match(r'\s*(\w+)(?:.*?realm="([^"]*)")?', value)
        if m:
            asked.append(f"{m.group(1)}" + (f' (realm "{m.group(2)}")' if m.group(2) else ""))
    if not asked:
        return ""
    scheme = asked[0].split()[0].lower()
    hint = f" (--endpoint-auth {scheme})" if scheme in AUTH_SCHEMES else " (eligo speaks basic and digest)"
    return f"the server asks for {' or '.join(asked)} authentication{hint}"


def _version() -> str:
    from eligo import __version__

    return __version__


def _redact(url: str) -> str:
    """A URL without the password it may carry."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc)


def open_backend(*, store: Path | None = None, endpoint: str | None = None, update_url: str | None = None,
                 graph_store_url: str | None = None, create: bool = False,
                 credentials: Credentials | None = None) -> EmbeddedStore | SparqlEndpoint:
    """The embedded store in ``store`` or the endpoint at ``endpoint`` (exactly one)."""
    if (store is None) == (endpoint is None):
        raise StoreError("name exactly one population store: --store DIR or --endpoint URL")
    if store is not None:
        if update_url is not None or graph_store_url is not None or credentials is not None:
            raise StoreError("--update-endpoint, --graph-store and --endpoint-user only go with --endpoint")
        return EmbeddedStore(store, create=create)
    assert endpoint is not None
    return SparqlEndpoint(endpoint, update_url=update_url, graph_store_url=graph_store_url, credentials=credentials)
