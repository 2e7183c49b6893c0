"""Population queries (`eligo cohort`): the ``.rq`` files in ``queries/`` and their parameters.

A query file opens with a comment header::

    # Candidates: patients whose verdict is eligible or pending-attestation.
    #
    # Purpose: ...            (may continue on the following comment lines)
    # param run    iri     optional  The screening run (default: the most recently loaded run).
    # param trial  string  optional  Only runs of this trial id.
    # Columns: patient, verdict, graph, run

and marks where parameters go with one or more lines that hold only the
comment ``# @parameters``. Parameters are bound, never pasted: each value is
turned into an RDF term of its declared type (``iri``: a validated
``NamedNode``; ``string``: a ``Literal``; ``date``: ``xsd:date``; ``integer``:
``xsd:integer``), serialised by pyoxigraph (N-Triples escaping), and every
placeholder line becomes ``VALUES (?name ...) { (term ...) }``. Without
parameters the file is sent as it is, so the same text runs on the embedded
store and on any endpoint.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, QuerySolutions, Store

from eligo.errors import StoreError, UsageError
from eligo.paths import QUERIES_DIR
from eligo.population.store import Backend, Table, Term

PLACEHOLDER = re.compile(r"^[ \t]*#[ \t]*@parameters[ \t]*$", re.MULTILINE)
_PARAM = re.compile(r"^param\s+([A-Za-z_][A-Za-z0-9_]*)\s+(\S+)\s+(optional|required)\s+(.+)$")
XSD = "http://www.w3.org/2001/XMLSchema#"
FORMATS = ("table", "csv", "json")


class ParamType(enum.Enum):
    IRI = "iri"
    STRING = "string"
    DATE = "date"
    INTEGER = "integer"


@dataclass(frozen=True, slots=True)
class QueryParameter:
    """A parameter a query file declares."""

    name: str
    type: ParamType
    required: bool
    description: str

    def term(self, raw: str) -> NamedNode | Literal:
        """The RDF term for a value given on the command line; a bad value is a usage error."""
        try:
            if self.type is ParamType.IRI:
                return NamedNode(raw)
            if self.type is ParamType.DATE:
                return Literal(dt.date.fromisoformat(raw).isoformat(), datatype=NamedNode(XSD + "date"))
            if self.type is ParamType.INTEGER:
                return Literal(str(int(raw)), datatype=NamedNode(XSD + "integer"))
        except ValueError as exc:
            raise UsageError(f"parameter {self.name}: {raw!r} is not a valid {self.type.value} ({exc})") from exc
        return Literal(raw)


@dataclass(frozen=True, slots=True)
class CohortQuery:
    """A query file with its header."""

    name: str
    path: Path
    text: str
    title: str
    purpose: str
    parameters: tuple[QueryParameter, ...]
    columns: tuple[str, ...]

    def parameter(self, name: str) -> QueryParameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.parameters) or "none"
        raise UsageError(f"query {self.name} has no parameter {name!r} (its parameters: {known})")

    def bind(self, values: Mapping[str, str]) -> str:
        """The query text with ``values`` bound at the placeholder lines."""
        terms = [(self.parameter(name).name, self.parameter(name).term(raw)) for name, raw in values.items()]
        missing = [p.name for p in self.parameters if p.required and p.name not in values]
        if missing:
            raise UsageError(f"query {self.name} needs --param {missing[0]}=VALUE")
        if not terms:
            return self.text
        block = values_block(terms)
        return PLACEHOLDER.sub(lambda _m: block, self.text)


def values_block(bindings: Sequence[tuple[str, NamedNode | Literal]]) -> str:
    """``VALUES (?a ?b) { (t1 t2) }`` from terms serialised by pyoxigraph (escaped, never raw text)."""
    names = " ".join(f"?{name}" for name, _ in bindings)
    row = " ".join(str(term) for _, term in bindings)
    return f"VALUES ({names}) {{ ({row}) }}"


def _parse_header(text: str, source: str) -> tuple[str, str, tuple[QueryParameter, ...], tuple[str, ...]]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    if not lines or not lines[0]:
        raise UsageError("a query file starts with a comment header: title line, Purpose:, param lines, Columns:",
                         source=source)
    title = lines[0]
    purpose: list[str] = []
    params: list[QueryParameter] = []
    columns: tuple[str, ...] = ()
    current: list[str] | None = None
    for line in lines[1:]:
        low = line.lower()
        if low.startswith("purpose:"):
            current = purpose
            purpose.append(line[len("purpose:"):].strip())
        elif low.startswith("param "):
            m = _PARAM.match(line)
            if m is None:
                raise UsageError(f"bad parameter line {line!r}; write `# param NAME TYPE optional|required text`",
                                 source=source)
            try:
                ptype = ParamType(m.group(2))
            except ValueError:
                raise UsageError(f"parameter {m.group(1)}: unknown type {m.group(2)!r}; use one of "
                                 + ", ".join(t.value for t in ParamType), source=source) from None
            params.append(QueryParameter(m.group(1), ptype, m.group(3) == "required", m.group(4).strip()))
            current = None
        elif low.startswith("columns:"):
            columns = tuple(c.strip() for c in line[len("columns:"):].split(",") if c.strip())
            current = None
        elif line and current is not None:
            current.append(line)
        else:
            current = None
    if not purpose or not columns:
        raise UsageError("the header needs a `# Purpose:` and a `# Columns:` line", source=source)
    if params and not PLACEHOLDER.search(text):
        raise UsageError("the query declares parameters but has no `# @parameters` line to bind them at",
                         source=source)
    return title, " ".join(purpose), tuple(params), columns


def load_query(name_or_path: str, *, queries_dir: Path = QUERIES_DIR) -> CohortQuery:
    """A query by name (``queries/NAME.rq``) or by path."""
    path = Path(name_or_path)
    if not (path.suffix == ".rq" and path.is_file()):
        candidate = queries_dir / f"{name_or_path}.rq"
        if not candidate.is_file():
            names = ", ".join(q.name for q in list_queries(queries_dir=queries_dir))
            raise UsageError(f"no query {name_or_path!r}: not a .rq file and not one of {names}")
        path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read: {exc}", source=str(path)) from exc
    title, purpose, params, columns = _parse_header(text, str(path))
    return CohortQuery(path.stem, path, text, title, purpose, params, columns)


def list_queries(*, queries_dir: Path = QUERIES_DIR) -> list[CohortQuery]:
    return [load_query(str(p), queries_dir=queries_dir) for p in sorted(queries_dir.glob("*.rq"))]


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``["NAME=VALUE", ...]`` from the command line; each name at most once."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {item!r}: write NAME=VALUE")
        if name in out:
            raise UsageError(f"--param {name} given twice")
        out[name] = value
    return out


def check_select(text: str, source: str) -> None:
    """Parse the bound text locally (empty in-memory store): syntax errors are reported the same for every backend."""
    try:
        result = Store().query(text)
    except SyntaxError as exc:
        raise UsageError(f"not valid SPARQL: {exc}", source=source) from exc
    if not isinstance(result, QuerySolutions):
        raise UsageError("only SELECT queries can be run with eligo cohort", source=source)


def run_query(backend: Backend, query: CohortQuery, params: Mapping[str, str]) -> Table:
    """Bind, check and run a query file on a backend."""
    text = query.bind(params)
    check_select(text, str(query.path))
    table = backend.select(text, step=f"query {query.name}" + "".join(f" {k}={v}" for k, v in params.items()))
    if table.columns != query.columns:
        raise StoreError(f"query {query.name} answered columns {', '.join(table.columns)}; its header "
                         f"declares {', '.join(query.columns)}", source=str(query.path))
    return table


# ---------------------------------------------------------------- output
_INTEGER_TYPES = {XSD + t for t in ("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger")}


def text_value(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    return term.value


def json_value(term: Term | None) -> object:
    if term is None:
        return None
    if isinstance(term, Literal):
        dtype = term.datatype.value
        if dtype in _INTEGER_TYPES:
            return int(term.value)
        if dtype == XSD + "boolean":
            return term.value in ("true", "1")
    return text_value(term)


def render(table: Table, fmt: str) -> str:
    """The table as aligned text, CSV or JSON (``{"columns": [...], "rows": [{...}]}``)."""
    if fmt == "json":
        return json.dumps({"columns": list(table.columns),
                           "rows": [{c: json_value(v) for c, v in zip(table.columns, r, strict=True)}
                                    for r in table.rows]}, ensure_ascii=False, indent=1)
    cells = [[text_value(v) for v in r] for r in table.rows]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(cells)
        return buf.getvalue().rstrip("\n")
    if fmt != "table":
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(table.columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines)
