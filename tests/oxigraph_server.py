"""A real Oxigraph SPARQL server (`oxigraph serve`, PyPI package `oxigraph`) for the store tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def oxigraph_server(location: Path, *, ready_within: float = 30.0, timeout_s: int | None = None) -> Iterator[Server]:
    """Start `oxigraph serve` on 127.0.0.1 and a free port (with ``timeout_s``: its query time limit); always stop it
    on exit."""
    port = free_port()
    log = (location.parent / f"{location.name}.log").open("wb")
    limit = ["--timeout-s", str(timeout_s)] if timeout_s is not None else []
    process = subprocess.Popen([oxigraph_binary(), "serve", "--location", str(location),
                                "--bind", f"127.0.0.1:{port}", *limit], stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + ready_within  # waiting for readiness, not asserting a speed
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"oxigraph serve exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{server.base}/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"oxigraph serve did not answer on {server.base}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
