"""Population stores: an embedded on-disk Oxigraph store, or any SPARQL 1.1 endpoint.

Both hold named graphs (see ``docs/cohorts.md`` for the graph design) and
answer ``SELECT`` queries with the same :class:`Table`, so a query file gives
the same rows on a laptop and on the hospital's endpoint.

- :class:`EmbeddedStore` is a pyoxigraph ``Store`` in a folder (no server).
- :class:`SparqlEndpoint` speaks the SPARQL 1.1 protocol through SPARQLWrapper:
  queries to the query URL, writes as SPARQL Update (``DROP SILENT GRAPH`` +
  ``INSERT DATA``) to the update URL, or, when a Graph Store URL is given, as
  Graph Store protocol ``PUT``/``POST`` of N-Triples.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
    parse_query_results,
    serialize,
)
from rdflib import BNode as RdfBNode
from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral

from eligo.errors import StoreError

Term = NamedNode | BlankNode | Literal

#: Triples per SPARQL Update request (Virtuoso and some others refuse very large requests).
UPDATE_BATCH_TRIPLES = 10_000


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


class Backend(Protocol):
    """What eligo needs from a population store."""

    description: str

    def replace_graphs(self, graphs: Sequence[GraphContent]) -> None:
        """Make each named graph hold exactly the given triples."""

    def add_to_graph(self, graph: NamedNode, triples: Sequence[Triple]) -> None:
        """Add triples to a named graph, keeping what it holds."""

    def select(self, query: str) -> Table:
        """Run a ``SELECT`` query."""

    def close(self) -> None:
        """Release the store (flushes an embedded store)."""


# ---------------------------------------------------------------- rdflib -> pyoxigraph
class TermConverter:
    """Converts rdflib terms to pyoxigraph terms, caching the repeated ones (predicates, codes, datatypes)."""

    def __init__(self) -> None:
        self._iris: dict[str, NamedNode] = {}

    def iri(self, value: str) -> NamedNode:
        node = self._iris.get(value)
        if node is None:
            node = NamedNode(value)  # validates the IRI
            if len(self._iris) < 200_000:
                self._iris[value] = node
        return node

    def term(self, t: object) -> Term:
        if isinstance(t, URIRef):
            return self.iri(str(t))
        if isinstance(t, RdfLiteral):
            if t.language:
                return Literal(str(t), language=t.language)
            if t.datatype is not None:
                return Literal(str(t), datatype=self.iri(str(t.datatype)))
            return Literal(str(t))
        if isinstance(t, RdfBNode):
            return BlankNode(str(t))
        raise StoreError(f"cannot store the RDF term {t!r}")

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

    def replace_graphs(self, graphs: Sequence[GraphContent]) -> None:
        for name, _ in graphs:
            if self.store.contains_named_graph(name):
                self.store.remove_graph(name)
        self.store.extend(Quad(t.subject, t.predicate, t.object, name) for name, triples in graphs for t in triples)

    def add_to_graph(self, graph: NamedNode, triples: Sequence[Triple]) -> None:
        self.store.extend(Quad(t.subject, t.predicate, t.object, graph) for t in triples)

    def select(self, query: str) -> Table:
        try:
            result = self.store.query(query)
        except SyntaxError as exc:
            raise StoreError(f"the query is not valid SPARQL: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot read the store: {exc}", source=str(self.path)) from exc
        if not isinstance(result, QuerySolutions):
            raise StoreError("only SELECT queries can be run here")
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
def default_update_url(query_url: str) -> str:
    """Oxigraph and Fuseki answer updates at ``.../update`` next to ``.../query``; others at the same URL."""
    if query_url.rstrip("/").endswith("/query"):
        return query_url.rstrip("/")[: -len("query")] + "update"
    return query_url


def _ntriples(triples: Iterable[Triple]) -> str:
    data = serialize(list(triples), format=RdfFormat.N_TRIPLES)
    return data.decode("utf-8") if data is not None else ""


class SparqlEndpoint:
    """A SPARQL 1.1 endpoint reached through SPARQLWrapper (queries, updates) or the Graph Store protocol."""

    def __init__(self, query_url: str, *, update_url: str | None = None, graph_store_url: str | None = None,
                 timeout: int = 600, batch_triples: int = UPDATE_BATCH_TRIPLES) -> None:
        for url in (query_url, update_url, graph_store_url):
            if url is not None and urllib.parse.urlparse(url).scheme not in ("http", "https"):
                raise StoreError(f"{url!r} is not an http(s) URL")
        self.query_url = query_url
        self.update_url = update_url or default_update_url(query_url)
        self.graph_store_url = graph_store_url
        self.timeout = timeout
        self.batch_triples = batch_triples
        self.description = f"endpoint {query_url}"

    # -- queries
    def select(self, query: str) -> Table:
        from SPARQLWrapper import JSON, POST, SELECT, SPARQLWrapper

        wrapper = SPARQLWrapper(self.query_url)
        wrapper.setMethod(POST)
        wrapper.setReturnFormat(JSON)
        wrapper.setTimeout(self.timeout)
        wrapper.setQuery(query)
        wrapper.queryType = SELECT  # eligo only sends SELECT here; don't let keyword-sniffing of comments decide
        data = self._send(wrapper, self.query_url)
        try:
            result = parse_query_results(data, QueryResultsFormat.JSON)
        except (SyntaxError, ValueError) as exc:
            raise StoreError(f"the endpoint's answer is not SPARQL JSON results: {exc}",
                             source=self.query_url) from exc
        if not isinstance(result, QuerySolutions):
            raise StoreError("the endpoint answered a SELECT query with a boolean", source=self.query_url)
        return _table(result)

    def _send(self, wrapper: object, url: str) -> bytes:
        from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

        try:
            response = wrapper.query().response  # type: ignore[attr-defined]
            return bytes(response.read())
        except SPARQLWrapperException as exc:
            raise StoreError(f"the endpoint refused the request: {_one_line(str(exc))}", source=url) from exc
        except urllib.error.HTTPError as exc:
            raise StoreError(f"HTTP {exc.code} {exc.reason}: {_one_line(exc.read().decode('utf-8', 'replace'))}",
                             source=url) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot reach the SPARQL endpoint ({_reason(exc)}); is the server running?",
                             source=url) from exc

    # -- writes
    def replace_graphs(self, graphs: Sequence[GraphContent]) -> None:
        if self.graph_store_url is not None:
            for name, triples in graphs:
                self._graph_store("PUT", name, triples)
            return
        batch: list[GraphContent] = []
        size = 0
        for name, triples in graphs:
            if batch and size + len(triples) > self.batch_triples:
                self._update(batch, drop=True)
                batch, size = [], 0
            batch.append((name, triples))
            size += len(triples)
        if batch:
            self._update(batch, drop=True)

    def add_to_graph(self, graph: NamedNode, triples: Sequence[Triple]) -> None:
        if self.graph_store_url is not None:
            self._graph_store("POST", graph, triples)
            return
        for i in range(0, len(triples), self.batch_triples):
            self._update([(graph, triples[i:i + self.batch_triples])], drop=False)

    def _update(self, graphs: Sequence[GraphContent], *, drop: bool) -> None:
        from SPARQLWrapper import INSERT, POST, SPARQLWrapper

        parts = [f"DROP SILENT GRAPH {name} ;\n" for name, _ in graphs] if drop else []
        parts.append("INSERT DATA {\n")
        for name, triples in graphs:
            parts.append(f"GRAPH {name} {{\n{_ntriples(triples)}}}\n")
        parts.append("}\n")
        wrapper = SPARQLWrapper(self.query_url, updateEndpoint=self.update_url)
        wrapper.setMethod(POST)
        wrapper.setTimeout(self.timeout)
        wrapper.setQuery("".join(parts))
        wrapper.queryType = INSERT
        self._send(wrapper, self.update_url)

    def _graph_store(self, method: str, graph: NamedNode, triples: Sequence[Triple]) -> None:
        assert self.graph_store_url is not None
        sep = "&" if "?" in self.graph_store_url else "?"
        url = f"{self.graph_store_url}{sep}{urllib.parse.urlencode({'graph': graph.value})}"
        request = urllib.request.Request(url, data=_ntriples(triples).encode("utf-8"), method=method,
                                         headers={"Content-Type": "application/n-triples"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            body = _one_line(exc.read().decode("utf-8", "replace"))
            raise StoreError(f"Graph Store {method} of {graph.value} failed: HTTP {exc.code} {exc.reason}: {body}",
                             source=self.graph_store_url) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot reach the Graph Store endpoint ({_reason(exc)}); is the server running?",
                             source=self.graph_store_url) from exc

    def close(self) -> None:
        return None

    def __enter__(self) -> SparqlEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc)


def open_backend(*, store: Path | None = None, endpoint: str | None = None, update_url: str | None = None,
                 graph_store_url: str | None = None, create: bool = False) -> EmbeddedStore | SparqlEndpoint:
    """The embedded store in ``store`` or the endpoint at ``endpoint`` (exactly one)."""
    if (store is None) == (endpoint is None):
        raise StoreError("name exactly one population store: --store DIR or --endpoint URL")
    if store is not None:
        if update_url is not None or graph_store_url is not None:
            raise StoreError("--update-endpoint and --graph-store only go with --endpoint")
        return EmbeddedStore(store, create=create)
    assert endpoint is not None
    return SparqlEndpoint(endpoint, update_url=update_url, graph_store_url=graph_store_url)
