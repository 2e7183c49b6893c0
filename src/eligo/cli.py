"""The ``eligo`` command: a thin layer over the library API."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eligo.errors import EligoError, ExitCode, UsageError
from eligo.paths import DEFAULT_TRIAL

if TYPE_CHECKING:
    from eligo.codemap import CodeMap
    from eligo.store import EmbeddedStore, SparqlEndpoint


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
    _add_code_map_option(c)

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
    _add_code_map_option(sc)

    sh = sub.add_parser("shapes", help="tools for the people who edit a trial's shapes")
    ssub = sh.add_subparsers(dest="shapes_command", required=True, parser_class=_Parser)
    lint = ssub.add_parser("lint", help="check a trial folder against SHACL-SHACL and eligo's conventions")
    lint.add_argument("trial", nargs="?", default=DEFAULT_TRIAL, help="trial id or folder")
    lint.add_argument("--list", action="store_true", help="list the checks and exit")
    st = ssub.add_parser("test", help="run a trial's per-criterion fixtures")
    st.add_argument("trial", nargs="?", default=DEFAULT_TRIAL, help="trial id or folder")
    st.add_argument("--criterion", action="append", dest="criteria", metavar="ID", help="only this criterion")
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
    return p


def _add_store_options(parser: argparse.ArgumentParser, *, writes: bool) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--store", type=Path, metavar="DIR", help="embedded on-disk store (pyoxigraph)")
    target.add_argument("--endpoint", metavar="URL", help="SPARQL 1.1 query endpoint (see docs/cohorts.md)")
    if writes:
        parser.add_argument("--update-endpoint", metavar="URL",
                            help="SPARQL Update endpoint (default: .../update for .../query, else --endpoint)")
        parser.add_argument("--graph-store", metavar="URL",
                            help="write with the Graph Store protocol at URL instead of SPARQL Update")


def _add_population_parsers(sub: argparse._SubParsersAction) -> None:
    ld = sub.add_parser("load", help="load patients and their screening results into a population store")
    ld.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                    help="Bulk NDJSON folder, Bundle file or folder, or RDF file")
    _add_store_options(ld, writes=True)
    ld.add_argument("--index-date", type=_index_date, help="screen for this index date, YYYY-MM-DD")
    ld.add_argument("--no-screen", action="store_true", help="load the patient data only")
    ld.add_argument("--rows", type=Path, metavar="FILE",
                    help="take the results from an earlier `eligo screen` JSONL file instead of screening again")
    ld.add_argument("--trial", default=DEFAULT_TRIAL)
    ld.add_argument("--workers", type=int, default=None, help="screening worker processes (default: one per core)")
    ld.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    _add_code_map_option(ld)

    co = sub.add_parser("cohort", help="run a population query (a name from queries/ or a .rq file)")
    co.add_argument("query", nargs="?", metavar="QUERY", help="query name (see --list) or path of a .rq file")
    co.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="bind a parameter the query declares (repeatable)")
    _add_store_options(co, writes=False)
    co.add_argument("--format", choices=("table", "csv", "json"), default="table")
    co.add_argument("--list", action="store_true", help="list the queries in queries/ and their parameters")

    fu = sub.add_parser("funnel", help="the attrition funnel of a screening run: table and chart")
    _add_store_options(fu, writes=False)
    fu.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="run=IRI or trial=ID (default: the most recently loaded run)")
    fu.add_argument("--chart", type=Path, default=Path("funnel"), metavar="PATH",
                    help="write the chart to PATH.png and PATH.svg (default: funnel)")
    fu.add_argument("--format", choices=("table", "csv", "json"), default="table")


def _code_map(args: argparse.Namespace) -> CodeMap | None:
    from eligo.codemap import load_code_map

    return None if args.code_map is None else load_code_map(args.code_map)


def _cmd_check(args: argparse.Namespace) -> int:
    from eligo.check import Screener
    from eligo.ingest import read_patient
    from eligo.report import to_json, to_text

    patient = read_patient(args.file)  # bad input is reported before anything else is loaded
    screener = Screener(trial=args.trial, code_map=_code_map(args))
    screening = screener.check(patient, index_date=args.index_date, criteria=args.criteria)
    if args.format == "json":
        print(to_json(screening))
    else:
        colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        print(to_text(screening, colour=colour))
    return ExitCode.OK


def _cmd_ontology_check(args: argparse.Namespace) -> int:
    from eligo.ontology_check import run

    report = run(write=not args.no_write)
    print(f"classes: {report.classes}   reasoner: {report.reasoner}")
    print("codes by system: " + ", ".join(f"{k} {v}" for k, v in sorted(report.codes_by_system.items())))
    for title, items in (("unsatisfiable classes", report.unsatisfiable),
                         ("codes without eligo:source", report.missing_source),
                         ("codes without rdfs:label", report.missing_label)):
        if items:
            print(f"{title} ({len(items)}):")
            for i in items:
                print(f"  {i}")
    if report.written:
        print(f"wrote {report.written}")
    return ExitCode.OK if report.clean else ExitCode.FINDINGS


def _cmd_synth(args: argparse.Namespace) -> int:
    from eligo.synth import generate, write_bulk
    from eligo.terms import TermModule
    from eligo.trial import Trial

    if args.n < 1:
        raise UsageError("N must be at least 1")
    counts = write_bulk(generate(args.n, seed=args.seed, trial=Trial.load(args.trial), terms=TermModule.load(),
                                 index_date=args.index_date), args.out)
    print(f"wrote {args.n} patients to {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return ExitCode.OK


def _cmd_screen(args: argparse.Namespace) -> int:
    from eligo.screen import screen

    progress = {"auto": None, "always": True, "never": False}[args.progress]
    summary = screen(args.inputs, index_date=args.index_date, out=args.out, fmt=args.format, workers=args.workers,
                     scheduler=args.scheduler, resume=args.resume, trial=args.trial, progress=progress,
                     code_map=_code_map(args))
    print(summary.render(), file=sys.stderr)
    return ExitCode.OK


def _backend(args: argparse.Namespace, *, create: bool = False) -> EmbeddedStore | SparqlEndpoint:
    from eligo.store import open_backend

    if args.store is None and args.endpoint is None:
        raise UsageError(f"{args.command}: name the population store with --store DIR or --endpoint URL")
    return open_backend(store=args.store, endpoint=args.endpoint, create=create,
                        update_url=getattr(args, "update_endpoint", None),
                        graph_store_url=getattr(args, "graph_store", None))


def _cmd_load(args: argparse.Namespace) -> int:
    from eligo.load import check_options, load_population

    code_map = _code_map(args)
    check_options(index_date=args.index_date, screen=not args.no_screen, rows_file=args.rows, code_map=code_map)
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    with _backend(args, create=True) as backend:
        summary = load_population(args.inputs, backend, index_date=args.index_date, trial=args.trial,
                                  screen=not args.no_screen, rows_file=args.rows, workers=args.workers,
                                  progress=progress, code_map=code_map)
        print(f"loaded into {backend.description}")
    print(summary.render())
    return ExitCode.OK


def _cmd_cohort(args: argparse.Namespace) -> int:
    from eligo.cohort import list_queries, load_query, parse_params, render, run_query

    if args.list:
        for q in list_queries():
            print(f"{q.name:<12} {q.title}")
            for prm in q.parameters:
                need = "required" if prm.required else "optional"
                print(f"{'':<14}--param {prm.name}=<{prm.type.value}>  ({need}) {prm.description}")
        return ExitCode.OK
    if args.query is None:
        raise UsageError("cohort: name a QUERY (see `eligo cohort --list`)")
    query = load_query(args.query)
    params = parse_params(args.param)
    query.bind(params)  # bad parameters are reported before the store is opened
    with _backend(args) as backend:
        table = run_query(backend, query, params)
    print(render(table, args.format))
    return ExitCode.OK


def _cmd_funnel(args: argparse.Namespace) -> int:
    from eligo.cohort import parse_params, render
    from eligo.funnel import compute, render_text, write_chart

    with _backend(args) as backend:
        funnel, table = compute(backend, parse_params(args.param))
    png, svg = write_chart(funnel, args.chart)
    print(render_text(funnel) if args.format == "table" else render(table, args.format))
    print(f"wrote {png} and {svg}", file=sys.stderr)
    return ExitCode.OK


def _cmd_terms(args: argparse.Namespace) -> int:
    from eligo.coverage import coverage, render, write_skeleton
    from eligo.terms import TermModule
    from eligo.trial import Trial

    code_map = _code_map(args)  # a bad map is reported before the population is read
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    report = coverage(args.inputs, trial=Trial.load(args.trial), terms=TermModule.load(), code_map=code_map,
                      progress=progress)
    print(render(report, args.format))
    if args.format == "csv":  # the table lists them under the rows, the JSON in "problems"
        for problem in report.problems:
            print(f"input problem: {problem}", file=sys.stderr)
    if args.emit_conceptmap is not None:
        write_skeleton(report, args.emit_conceptmap)
        print(f"wrote {args.emit_conceptmap}: {len(report.rows)} unrecognised code(s) to map", file=sys.stderr)
    return ExitCode.OK


def _trial_folder(trial: str) -> Path:
    from eligo.trial import Trial

    return Trial.resolve(trial)


def _cmd_shapes(args: argparse.Namespace) -> int:
    if args.shapes_command == "lint":
        from eligo.lint import CHECKS, lint

        if args.list:
            for name, what in CHECKS.items():
                print(f"{name:<22} {what}")
            return ExitCode.OK
        folder = _trial_folder(args.trial)
        findings = lint(folder)
        for f in findings:
            print(f.render(Path.cwd()))
        print(f"{folder.name}: {len(findings)} finding(s)" if findings else f"{folder.name}: clean")
        return ExitCode.FINDINGS if findings else ExitCode.OK
    if args.shapes_command == "test":
        from eligo.check import Screener
        from eligo.fixtures import load_fixtures, run_fixture

        screener = Screener(trial=args.trial)
        fixtures = [fx for fx in load_fixtures(screener.trial)
                    if not args.criteria or fx.criterion in args.criteria]
        if args.criteria:
            for cid in args.criteria:
                screener.trial.criterion(cid)  # unknown id: a usage error
        failed = 0
        print(f"{'criterion':<10} {'fixture':<44} {'expect':<15} result")
        for fx in fixtures:
            r = run_fixture(fx, screener)
            failed += not r.passed
            status = "pass" if r.passed else f"FAIL: {r.difference()}"
            print(f"{fx.criterion:<10} {fx.name[:44]:<44} {fx.expect.value:<15} {status}")
        print(f"{len(fixtures) - failed} passed, {failed} failed")
        return ExitCode.FINDINGS if failed else ExitCode.OK
    if args.shapes_command == "docs":
        from eligo.catalogue import write_catalogue
        from eligo.paths import PROJECT_ROOT
        from eligo.terms import TermModule
        from eligo.trial import Trial

        trial = Trial.load(args.trial)
        for path in write_catalogue(trial, TermModule.load(), args.out or PROJECT_ROOT / "docs"):
            print(f"wrote {path}")
        return ExitCode.OK
    raise UsageError(f"unknown shapes command {args.shapes_command}")


#: Each subcommand of `eligo` and the function that runs it (`ontology` has one subcommand, `check`).
_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _cmd_check, "synth": _cmd_synth, "screen": _cmd_screen, "shapes": _cmd_shapes,
    "ontology": _cmd_ontology_check, "load": _cmd_load, "cohort": _cmd_cohort, "funnel": _cmd_funnel,
    "terms": _cmd_terms,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if not debug:  # rdflib logs a traceback per ill-typed literal; eligo reports those records itself
        logging.getLogger("rdflib.term").setLevel(logging.CRITICAL)
    try:
        args = build_parser().parse_args(argv)
        command = _COMMANDS.get(args.command)
        if command is None:
            raise UsageError(f"unknown command {args.command}")
        return command(args)
    except EligoError as exc:
        print(f"eligo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("eligo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # a bug: say so in one line unless asked for the traceback
        if debug:
            raise
        print(f"eligo: internal error: {type(exc).__name__}: {exc} "
              "(this is a bug; run again with --debug for the traceback)", file=sys.stderr)
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
