"""The ``eligo`` command's arguments: one parser per subcommand."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from eligo.batch import DEFAULT_BATCH_SIZE
from eligo.errors import UsageError
from eligo.paths import DEFAULT_TRIAL

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _index_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def _add_code_map_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code-map", type=Path, metavar="FILE",
                        help="FHIR ConceptMap (JSON) from the site's local codes to codes eligo knows")


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--cache-dir", type=Path, metavar="DIR",
                       help="keep the loaded trial and term module here (default $XDG_CACHE_HOME/eligo)")
    cache.add_argument("--no-cache", action="store_true", help="parse the trial and term module afresh; write no cache")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="eligo", description="Clinical-trial eligibility from SHACL shapes over patient graphs.")
    p.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="screen one patient file against a trial")
    c.add_argument("file", type=Path, help="patient file: RDF in the eligo model (.ttl, .nt, .jsonld)")
    c.add_argument("--index-date", required=True, type=_index_date,
                   help="planned enrolment / first-dose date, YYYY-MM-DD")
    c.add_argument("--trial", default=DEFAULT_TRIAL, help=f"trial id or folder (default {DEFAULT_TRIAL})")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--criterion", action="append", dest="criteria", metavar="ID",
                   help="only this criterion (repeatable)")
    c.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    c.add_argument("--engine", choices=("pyshacl", "batch"), default="pyshacl",
                   help="pyshacl (the reference, default) or batch (the set-at-a-time engine `eligo screen` uses)")
    _add_code_map_option(c)
    _add_cache_options(c)

    sy = sub.add_parser("synth", help="write a synthetic population as FHIR Bulk Data NDJSON")
    sy.add_argument("n", type=int, help="number of patients")
    sy.add_argument("--seed", type=int, default=1, help="random seed (same seed, same population)")
    sy.add_argument("--out", type=Path, required=True, help="output folder (one .ndjson per resource type)")
    sy.add_argument("--trial", default=DEFAULT_TRIAL, help="trial whose fixtures seed the population")
    sy.add_argument("--index-date", type=_index_date, default=dt.date(2026, 12, 1),
                    help="index date the population is built around (default 2026-12-01)")

    sc = sub.add_parser("screen", help="screen a population; one output row per patient")
    sc.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                    help="Bulk NDJSON folder, Bundle file or folder, or RDF file")
    sc.add_argument("--index-date", required=True, type=_index_date)
    sc.add_argument("--out", type=Path, required=True, help="output file")
    sc.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    sc.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    sc.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    sc.add_argument("--resume", action="store_true", help="keep the rows already in --out and skip those patients")
    sc.add_argument("--trial", default=DEFAULT_TRIAL)
    sc.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    sc.add_argument("--engine", choices=("batch", "pyshacl"), default="batch",
                    help="batch (set-at-a-time on Oxigraph, default) or pyshacl (one patient at a time, the reference)")
    sc.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                    help=f"patients per batch store with the batch engine (default {DEFAULT_BATCH_SIZE})")
    sc.add_argument("--verify-sample", type=float, default=0.0, metavar="P",
                    help="re-check this fraction of the patients (0-1) with pySHACL; stop on any difference")
    _add_code_map_option(sc)
    _add_cache_options(sc)

    sh = sub.add_parser("shapes", help="tools for the people who edit a trial's shapes")
    ssub = sh.add_subparsers(dest="shapes_command", required=True, parser_class=_Parser)
    lint = ssub.add_parser("lint", help="check a trial folder against SHACL-SHACL and eligo's conventions")
    lint.add_argument("trial", nargs="?", default=DEFAULT_TRIAL, help="trial id or folder")
    lint.add_argument("--list", action="store_true", help="list the checks and exit")
    st = ssub.add_parser("test", help="run a trial's per-criterion fixtures")
    st.add_argument("trial", nargs="?", default=DEFAULT_TRIAL, help="trial id or folder")
    st.add_argument("--criterion", action="append", dest="criteria", metavar="ID", help="only this criterion")
    st.add_argument("--update-snapshots", action="store_true",
                    help="rewrite fixtures/snapshots/<ID>.txt from the reasons and needs rendered now")
    sd = ssub.add_parser("docs", help="generate the criteria catalogue (Markdown and HTML)")
    sd.add_argument("trial", nargs="?", default=DEFAULT_TRIAL, help="trial id or folder")
    sd.add_argument("--out", type=Path, default=None, help="docs folder (default: the project's docs/)")

    o = sub.add_parser("ontology", help="term module tools")
    osub = o.add_subparsers(dest="ontology_command", required=True, parser_class=_Parser)
    oc = osub.add_parser("check", help="reason with HermiT and regenerate the materialised hierarchy")
    oc.add_argument("--no-write", action="store_true", help="check only; do not write the hierarchy")
    te = sub.add_parser("terms", help="how well the term module covers a population's codes")
    tsub = te.add_subparsers(dest="terms_command", required=True, parser_class=_Parser)
    tc = tsub.add_parser("coverage", help="list the codes of a population that eligo does not recognise")
    tc.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                    help="Bulk NDJSON folder, Bundle file or folder, or RDF file")
    tc.add_argument("--format", choices=("table", "csv", "json"), default="table")
    tc.add_argument("--emit-conceptmap", type=Path, metavar="FILE",
                    help="also write a FHIR ConceptMap skeleton of the unrecognised codes, for the site to fill in")
    _add_code_map_option(tc)
    tc.add_argument("--trial", default=DEFAULT_TRIAL, help="trial whose criteria are named per code")
    tc.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    _add_population_parsers(sub)
    _add_serve_parser(sub)
    return p


def _add_serve_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    se = sub.add_parser("serve", help="the coordinators' web app: check patients, record attestations, work a cohort")
    _add_store_options(se, writes=False)
    se.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1; others need --token-file)")
    se.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    se.add_argument("--token-file", type=Path, metavar="FILE", help="the access token (default: a new one, printed)")
    se.add_argument("--trial", default=DEFAULT_TRIAL, help=f"trial id or folder (default {DEFAULT_TRIAL})")
    se.add_argument("--demo", action="store_true", help="the example patients and a temporary synthetic store")


def _add_store_options(parser: argparse.ArgumentParser, *, writes: bool, credentials: bool = False) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--store", type=Path, metavar="DIR", help="embedded on-disk store (pyoxigraph)")
    target.add_argument("--endpoint", metavar="URL", help="SPARQL 1.1 query endpoint (see docs/cohorts.md)")
    if credentials:
        parser.add_argument("--endpoint-user", metavar="USER",
                            help="log in to the endpoint as USER; the password is read from $ELIGO_ENDPOINT_PASSWORD "
                                 "or the ~/.netrc entry of the endpoint's host, never from the command line")
        parser.add_argument("--endpoint-auth", choices=("basic", "digest"), default="basic",
                            help="HTTP authentication with --endpoint-user (default basic; Virtuoso's /sparql-auth "
                                 "wants digest)")
    if writes:
        parser.add_argument("--update-endpoint", metavar="URL",
                            help="SPARQL Update endpoint (default: .../update for .../query, else --endpoint)")
        parser.add_argument("--graph-store", metavar="URL",
                            help="write with the Graph Store protocol at URL instead of SPARQL Update")


def _add_population_parsers(sub: argparse._SubParsersAction[_Parser]) -> None:
    ld = sub.add_parser("load", help="load patients and their screening results into a population store")
    ld.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                    help="Bulk NDJSON folder, Bundle file or folder, or RDF file")
    _add_store_options(ld, writes=True, credentials=True)
    ld.add_argument("--index-date", type=_index_date, help="screen for this index date, YYYY-MM-DD")
    ld.add_argument("--no-screen", action="store_true", help="load the patient data only")
    ld.add_argument("--rows", type=Path, metavar="FILE",
                    help="take the results from an earlier `eligo screen` JSONL file instead of screening again")
    ld.add_argument("--trial", default=DEFAULT_TRIAL)
    ld.add_argument("--workers", type=int, default=None,
                    help="worker processes mapping the patient data and screening (default: one per core)")
    ld.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    _add_code_map_option(ld)
    _add_cache_options(ld)

    co = sub.add_parser("cohort", help="run a population query (a name from queries/ or a .rq file)")
    co.add_argument("query", nargs="?", metavar="QUERY", help="query name (see --list) or path of a .rq file")
    co.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="bind a parameter the query declares (repeatable)")
    _add_store_options(co, writes=False, credentials=True)
    co.add_argument("--format", choices=("table", "csv", "json"), default="table")
    co.add_argument("--list", action="store_true", help="list the queries in queries/ and their parameters")

    fu = sub.add_parser("funnel", help="the attrition funnel of a screening run: table and chart")
    _add_store_options(fu, writes=False, credentials=True)
    fu.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="run=IRI or trial=ID (default: the most recently loaded run)")
    fu.add_argument("--chart", type=Path, default=Path("funnel"), metavar="PATH",
                    help="write the chart to PATH.png and PATH.svg (default: funnel)")
    fu.add_argument("--format", choices=("table", "csv", "json"), default="table")
