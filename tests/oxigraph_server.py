"""A real Oxigraph SPARQL server (`oxigraph serve`, PyPI package `oxigraph`) for the store tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server_harness import answers, free_port, running, wait_until_ready

__all__ = ["Server", "free_port", "oxigraph_binary", "oxigraph_server"]


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen
    base: str  # http://127.0.0.1:PORT

    @property
    def query_url(self) -> str:
        return f"{self.base}/query"

    @property
    def update_url(self) -> str:
        return f"{self.base}/update"

    @property
    def store_url(self) -> str:
        return f"{self.base}/store"


def oxigraph_binary() -> str:
    local = Path(sys.executable).parent / "oxigraph"
    found = str(local) if local.is_file() else shutil.which("oxigraph")
    if found is None:
        raise RuntimeError("the `oxigraph` server CLI is not installed (pip install oxigraph==0.5.13)")
    return found


@contextmanager
def oxigraph_server(location: Path, *, ready_within: float = 30.0, timeout_s: int | None = None) -> Iterator[Server]:
    """Start `oxigraph serve` on 127.0.0.1 and a free port (with ``timeout_s``: its query time limit); always stop it
    on exit."""
    port = free_port()
    log = location.parent / f"{location.name}.log"
    limit = ["--timeout-s", str(timeout_s)] if timeout_s is not None else []
    command = [oxigraph_binary(), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}", *limit]
    with running(command, log=log, stop_within=10) as process:
        server = Server(process, f"http://127.0.0.1:{port}")
        wait_until_ready(process, lambda: answers(f"{server.base}/"), deadline=time.monotonic() + ready_within,
                         every=0.1, name="oxigraph serve", see=str(log),
                         timed_out=f"oxigraph serve did not answer on {server.base}")
        yield server
