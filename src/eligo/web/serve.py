"""`eligo serve`: the token, the address, the demo store, and uvicorn.

Health data: the server listens on 127.0.0.1 by default, and refuses any other address unless the token comes
from ``--token-file`` (a generated token is printed on the terminal, which is not where a shared server's
secret belongs). Put a TLS reverse proxy in front for anything but the local machine (docs/serve.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from eligo.errors import UsageError
from eligo.paths import DEFAULT_TRIAL, EXAMPLES_DIR
from eligo.web.security import MIN_TOKEN_LENGTH, new_token

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DEMO_INDEX_DATE = dt.date(2026, 12, 1)
DEMO_PATIENTS = 40


def read_token_file(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the token file ({exc})", source=str(path)) from exc
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise UsageError(f"the token file must hold one token of at least {MIN_TOKEN_LENGTH} characters without "
                         "spaces (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE`)",
                         source=str(path))
    return token


def resolve_token(*, host: str, token_file: Path | None) -> tuple[str, bool]:
    """The token and whether it was generated here (then it is printed in the URL)."""
    if token_file is not None:
        return read_token_file(token_file), False
    if host not in LOOPBACK:
        raise UsageError(f"serve: refusing to listen on {host} without --token-file: patient data must not be "
                         "reachable from other machines with a token printed on a terminal (see docs/serve.md)")
    return new_token(), True


def url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


@contextlib.contextmanager
def demo_store(population: Path | None, *, trial: str) -> Iterator[Path]:
    """A temporary store with the example patients (FHIR) and ``population``, screened for 2026-12-01."""
    from eligo.population.load import load_population
    from eligo.population.store import EmbeddedStore

    with tempfile.TemporaryDirectory(prefix="eligo-demo-") as tmp:
        store = Path(tmp) / "store"
        inputs = sorted(EXAMPLES_DIR.glob("*.json")) + ([population] if population is not None else [])
        with EmbeddedStore(store, create=True) as backend:
            load_population(inputs, backend, index_date=DEMO_INDEX_DATE, trial=trial, workers=1, progress=False)
        yield store


def synth_population(folder: Path, *, trial: str, n: int = DEMO_PATIENTS) -> Path:
    """``eligo synth N --seed 1`` into ``folder``."""
    from eligo.authoring.synth import generate, write_bulk
    from eligo.terms import TermModule
    from eligo.trial import Trial

    write_bulk(generate(n, seed=1, trial=Trial.load(trial), terms=TermModule.load(), index_date=DEMO_INDEX_DATE),
               folder)
    return folder


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(*, trial: str = DEFAULT_TRIAL, store: Path | None = None, endpoint: str | None = None,
          host: str = "127.0.0.1", port: int = 8000, token_file: Path | None = None, demo: bool = False,
          out: TextIO = sys.stderr) -> int:
    """Run the server until interrupted. ``demo``: the example patients offered on the home page, and a
    temporary store of them and of a small synthetic population."""
    import uvicorn

    from eligo.web.app import create_app, quiet_logs

    token, generated = resolve_token(host=host, token_file=token_file)
    if demo and (store is not None or endpoint is not None):
        raise UsageError("serve: --demo makes its own store; it cannot go with --store or --endpoint")
    if not 0 < port < 65536:
        raise UsageError(f"serve: --port {port} is not a TCP port")
    quiet_logs()
    if threading.current_thread() is threading.main_thread():  # uvicorn re-raises SIGTERM once it has stopped:
        signal.signal(signal.SIGTERM, _exit)                    # exit through the `with` blocks (the demo store)
    with contextlib.ExitStack() as stack:
        if demo:
            print("building the demo store (example patients and a small synthetic population)...", file=out)
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eligo-demo-pop-")))
            store = stack.enter_context(demo_store(synth_population(folder, trial=trial), trial=trial))
        app = create_app(trial=trial, store=store, endpoint=endpoint, token=token,
                         default_index_date=DEMO_INDEX_DATE if demo else None,
                         examples_dir=EXAMPLES_DIR if demo else None)
        print(f"eligo serve: trial {trial}" + (f", {'store' if store else 'endpoint'} {store or endpoint}"
                                               if store or endpoint else ""), file=out)
        print("Open this address in a browser (it carries the access token; keep it private):" if generated else
              f"The token is the one in {token_file}; send it as `Authorization: Bearer TOKEN` or open:", file=out)
        print(f"    {url(host, port, token if generated else None)}" + ("" if generated else "?token=..."), file=out)
        out.flush()
        uvicorn.run(app, host=host, port=port, access_log=False, server_header=False, log_level="info")
    return 0
