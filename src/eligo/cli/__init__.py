"""The ``eligo`` command: a thin layer over the library API (arguments: :mod:`eligo.cli.parsers`; what each
subcommand does: :mod:`eligo.cli.commands`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from eligo.cli.commands import COMMANDS
from eligo.cli.parsers import build_parser
from eligo.errors import EligoError, ExitCode, UsageError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if not debug:  # rdflib logs a traceback per ill-typed literal; eligo reports those records itself
        logging.getLogger("rdflib.term").setLevel(logging.CRITICAL)
    try:
        args = build_parser().parse_args(argv)
        command = COMMANDS.get(args.command)
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
