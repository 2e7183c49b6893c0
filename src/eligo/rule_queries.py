"""The trial's SPARQL rules as parsed queries, and what they name (read from the query algebra, not the
text)."""

from __future__ import annotations

from rdflib import URIRef
from rdflib.paths import Path as RdfPath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from eligo.model import sparql_prefix_header

__all__ = ["parse_rule", "query_iris"]


def parse_rule(text: str, prefixes: dict[str, str] | None = None) -> Query:
    """A rule's SPARQL query, with eligo's prefixes and a trial's own (``prefixes``) declared."""
    return prepareQuery(sparql_prefix_header(prefixes) + text)


def query_iris(query: Query) -> frozenset[URIRef]:
    """Every IRI a parsed query names: in triple patterns and property paths, (NOT) EXISTS patterns,
    FILTER / BIND expressions, VALUES and the CONSTRUCT template (not in comments or unused prefixes)."""
    found, seen, skip = set[URIRef](), set[int](), ("_vars", "ctx")  # skip: algebra entries that name no IRI
    stack: list[object] = [query.algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, URIRef):
            found.add(node)
        elif isinstance(node, RdfPath):  # sequence, alternative, inverse, negated, * + ?
            stack.extend(vars(node).values())
        elif isinstance(node, dict | list | tuple) and id(node) not in seen:
            seen.add(id(node))
            # rdflib keeps the translated pattern of a (NOT) EXISTS as an attribute, not as an item
            stack += ([v for k, v in [*node.items(), *getattr(node, "__dict__", {}).items()] if k not in skip]
                      if isinstance(node, dict) else node)
    return frozenset(found)
