"""Start, wait for and stop a real server process for the store tests and benchmarks (`oxigraph_server.py`,
`virtuoso_server.py`): a free port on 127.0.0.1, the output in a log file, readiness polling, and teardown that
always stops the process (killed if it does not stop)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str, timeout: float = 2) -> bool:
    """Whether ``url`` answers a GET (any success)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running(command: Sequence[str], *, log: Path, cwd: Path | None = None,
            stop_within: float = 10.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (standard output and error to ``log``); on exit terminate it, waiting ``stop_within``
    seconds before killing it."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], *, deadline: float,
                     every: float, name: str, see: str, timed_out: str) -> None:
    """Poll ``ready`` every ``every`` seconds until it holds; RuntimeError if the process exits first (``name``
    exited with ...; see ``see``) or at ``deadline`` (time.monotonic(); ``timed_out``). This waits for readiness,
    it does not assert a speed."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {see}")
        if ready():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(timed_out)
        time.sleep(every)
