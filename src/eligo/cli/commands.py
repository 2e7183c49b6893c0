"""What each ``eligo`` subcommand does: parse nothing, decide nothing; call the library and print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from eligo.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eligo.codemap import CodeMap
    from eligo.population.store import EmbeddedStore, SparqlEndpoint

__all__ = ["COMMANDS"]


def _code_map(args: argparse.Namespace) -> CodeMap | None:
    from eligo.codemap import load_code_map

    return None if args.code_map is None else load_code_map(args.code_map)


def _cmd_check(args: argparse.Namespace) -> int:
    from eligo.cache import default_cache_dir
    from eligo.check import Screener
    from eligo.ingest import read_patient
    from eligo.report import to_json, to_text

    patient = read_patient(args.file)  # bad input is reported before anything else is loaded
    cache_dir = None if args.no_cache else args.cache_dir or default_cache_dir()
    screener = Screener(trial=args.trial, code_map=_code_map(args), cache_dir=cache_dir)
    if args.engine == "batch":
        from eligo.batch import BatchScreener

        if args.criteria:
            raise UsageError("--criterion goes with --engine pyshacl only (the batch engine runs whole trials)")
        screening = BatchScreener(reference=screener).check(patient, index_date=args.index_date)
    else:
        screening = screener.check(patient, index_date=args.index_date, criteria=args.criteria)
    if args.format == "json":
        print(to_json(screening))
    else:
        colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        print(to_text(screening, colour=colour))
    return ExitCode.OK


def _cmd_ontology_check(args: argparse.Namespace) -> int:
    from eligo.authoring.ontology_check import run

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
    from eligo.authoring.synth import generate, write_bulk
    from eligo.terms import TermModule
    from eligo.trial import Trial

    if args.n < 1:
        raise UsageError("N must be at least 1")
    counts = write_bulk(generate(args.n, seed=args.seed, trial=Trial.load(args.trial), terms=TermModule.load(),
                                 index_date=args.index_date), args.out)
    print(f"wrote {args.n} patients to {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return ExitCode.OK


def _cmd_screen(args: argparse.Namespace) -> int:
    from eligo.batch import Engine
    from eligo.cache import default_cache_dir
    from eligo.population.screen import screen

    progress = {"auto": None, "always": True, "never": False}[args.progress]
    summary = screen(args.inputs, index_date=args.index_date, out=args.out, fmt=args.format, workers=args.workers,
                     scheduler=args.scheduler, resume=args.resume, trial=args.trial, progress=progress,
                     code_map=_code_map(args), engine=Engine(args.engine), batch_size=args.batch_size,
                     verify_sample=args.verify_sample,
                     cache_dir=None if args.no_cache else args.cache_dir or default_cache_dir())
    print(summary.render(), file=sys.stderr)
    return ExitCode.OK


def _backend(args: argparse.Namespace, *, create: bool = False) -> EmbeddedStore | SparqlEndpoint:
    from eligo.population.store import Credentials, open_backend

    if args.store is None and args.endpoint is None:
        raise UsageError(f"{args.command}: name the population store with --store DIR or --endpoint URL")
    user = getattr(args, "endpoint_user", None)
    if user is not None and args.endpoint is None:
        raise UsageError("--endpoint-user only goes with --endpoint")
    credentials = None if user is None else Credentials.find(args.endpoint, user, scheme=args.endpoint_auth)
    return open_backend(store=args.store, endpoint=args.endpoint, create=create,
                        update_url=getattr(args, "update_endpoint", None),
                        graph_store_url=getattr(args, "graph_store", None), credentials=credentials)


def _cmd_load(args: argparse.Namespace) -> int:
    from eligo.cache import default_cache_dir
    from eligo.population.load import check_options, load_population

    code_map = _code_map(args)
    check_options(index_date=args.index_date, screen=not args.no_screen, rows_file=args.rows, code_map=code_map)
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    with _backend(args, create=True) as backend:
        summary = load_population(args.inputs, backend, index_date=args.index_date, trial=args.trial,
                                  screen=not args.no_screen, rows_file=args.rows, workers=args.workers,
                                  progress=progress, code_map=code_map,
                                  cache_dir=None if args.no_cache else args.cache_dir or default_cache_dir())
        print(f"loaded into {backend.description}")
    print(summary.render())
    return ExitCode.OK


def _cmd_cohort(args: argparse.Namespace) -> int:
    from eligo.population.cohort import list_queries, load_query, parse_params, render, run_query

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
    from eligo.population.cohort import parse_params, render
    from eligo.population.funnel import compute, render_text, write_chart

    with _backend(args) as backend:
        funnel, table = compute(backend, parse_params(args.param))
    png, svg = write_chart(funnel, args.chart)
    print(render_text(funnel) if args.format == "table" else render(table, args.format))
    print(f"wrote {png} and {svg}", file=sys.stderr)
    return ExitCode.OK


def _cmd_terms(args: argparse.Namespace) -> int:
    from eligo.authoring.coverage import coverage, render, write_skeleton
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


def _cmd_serve(args: argparse.Namespace) -> int:
    from eligo.web.serve import serve

    return serve(trial=args.trial, store=args.store, endpoint=args.endpoint, host=args.host, port=args.port,
                 token_file=args.token_file, demo=args.demo)


def _trial_folder(trial: str) -> Path:
    from eligo.trial import Trial

    return Trial.resolve(trial)


def _cmd_shapes(args: argparse.Namespace) -> int:
    if args.shapes_command == "lint":
        from eligo.authoring.lint import CHECKS, lint

        if args.list:
            for name, what in CHECKS.items():
                print(f"{name:<22} {what}")
            return ExitCode.OK
        folder = _trial_folder(args.trial)
        findings = lint(folder)
        for f in findings:
            print(f.render(Path.cwd()))
        errors = sum(not f.is_warning for f in findings)
        warnings = f", {len(findings) - errors} warning(s)" if len(findings) > errors else ""
        print(f"{folder.name}: {errors} finding(s){warnings}" if findings else f"{folder.name}: clean")
        return ExitCode.FINDINGS if errors else ExitCode.OK
    if args.shapes_command == "test":
        from eligo.authoring.fixtures import load_fixtures, run_fixture, snapshot_diffs, update_command, write_snapshots
        from eligo.check import Screener

        screener = Screener(trial=args.trial)
        fixtures = [fx for fx in load_fixtures(screener.trial)
                    if not args.criteria or fx.criterion in args.criteria]
        if args.criteria:
            for cid in args.criteria:
                screener.trial.criterion(cid)  # unknown id: a usage error
        failed = 0
        results = []
        print(f"{'criterion':<10} {'fixture':<44} {'expect':<15} result")
        for fx in fixtures:
            r = run_fixture(fx, screener)
            results.append(r)
            failed += not r.passed
            status = "pass" if r.passed else f"FAIL: {r.difference()}"
            if not (args.update_snapshots and r.passed):  # updating: only the failures
                print(f"{fx.criterion:<10} {fx.name[:44]:<44} {fx.expect.value:<15} {status}")
        print(f"{len(fixtures) - failed} passed, {failed} failed")
        if args.update_snapshots:
            for path in write_snapshots(screener.trial, results, prune=not args.criteria):
                print(f"{'wrote' if path.is_file() else 'deleted'} {path}")
            return ExitCode.FINDINGS if failed else ExitCode.OK
        diffs = snapshot_diffs(screener.trial, results)
        for diff in diffs.values():
            print(diff, end="")
        if diffs:
            print(f"{len(diffs)} snapshot(s) differ: review, then run `{update_command(screener.trial)}`")
        return ExitCode.FINDINGS if failed or diffs else ExitCode.OK
    if args.shapes_command == "docs":
        from eligo.authoring.catalogue import write_catalogue
        from eligo.paths import PROJECT_ROOT
        from eligo.terms import TermModule
        from eligo.trial import Trial

        trial = Trial.load(args.trial)
        for path in write_catalogue(trial, TermModule.load(), args.out or PROJECT_ROOT / "docs"):
            print(f"wrote {path}")
        return ExitCode.OK
    raise UsageError(f"unknown shapes command {args.shapes_command}")


#: Each subcommand of `eligo` and the function that runs it (`ontology` has one subcommand, `check`).
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _cmd_check, "synth": _cmd_synth, "screen": _cmd_screen, "shapes": _cmd_shapes,
    "ontology": _cmd_ontology_check, "load": _cmd_load, "cohort": _cmd_cohort, "funnel": _cmd_funnel,
    "terms": _cmd_terms, "serve": _cmd_serve,
}
