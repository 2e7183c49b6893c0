"""A real OpenLink Virtuoso 7 (Debian's `virtuoso-opensource-7`) for the store tests and benchmarks.

Started in a throwaway folder with its own virtuoso.ini (Debian's package starts nothing and its ini points at
/var/lib), both ports (SQL and HTTP) bound to 127.0.0.1 on free ports, and stopped on exit, killed if it does
not stop. After start: `GRANT SPARQL_UPDATE TO "SPARQL"` (the anonymous /sparql user may then update), a user
for the authenticated endpoints (/sparql-auth, /sparql-graph-crud-auth, digest authentication) with a random
password, and the dba password changed to a random one (USER_CHANGE_PASSWORD). The [SPARQL] limits are
Virtuoso's defaults unless given.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server_harness import free_port, running, wait_until_ready

#: Debian's package (`make virtuoso` installs it).
DEBIAN_PACKAGE = "virtuoso-opensource-7"
SPARQL_DEFAULTS = {"ResultSetMaxRows": 10_000, "MaxQueryCostEstimationTime": 400, "MaxQueryExecutionTime": 60}
#: Memory: 20,000 buffers of 8 kB (160 MB) hold the tests' data; Virtuoso's guide gives 170,000 per 2 GB of RAM.
PARAMETER_DEFAULTS = {"NumberOfBuffers": 20_000, "MaxDirtyBuffers": 15_000}


class VirtuosoUnavailable(RuntimeError):
    """Virtuoso is not installed here (the tests that need it skip with this reason)."""


@dataclass(frozen=True)
class Virtuoso:
    process: subprocess.Popen
    base: str  # http://127.0.0.1:PORT
    sql_port: int
    user: str  # a user with SPARQL_UPDATE for the authenticated endpoints (digest)
    password: str
    log: Path

    @property
    def query_url(self) -> str:
        return f"{self.base}/sparql"

    @property
    def graph_store_url(self) -> str:
        return f"{self.base}/sparql-graph-crud"

    @property
    def auth_query_url(self) -> str:
        return f"{self.base}/sparql-auth"

    @property
    def auth_graph_store_url(self) -> str:
        return f"{self.base}/sparql-graph-crud-auth"


def virtuoso_binaries() -> tuple[str, str]:
    server, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if server is None or isql is None:
        raise VirtuosoUnavailable(f"Virtuoso is not installed (virtuoso-t, isql-vt); `make virtuoso` installs "
                                  f"Debian's {DEBIAN_PACKAGE} (needs root and apt)")
    return server, isql


def _ini(folder: Path, http_port: int, sql_port: int, sparql: dict[str, int], parameters: dict[str, int]) -> str:
    db = folder / "db"
    limits = "\n".join(f"{k} = {v}" for k, v in sparql.items())
    memory = "\n".join(f"{k} = {v}" for k, v in parameters.items())
    return f"""[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = .
ThreadsPerQuery = 2
{memory}

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder / "www"}
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8

[SPARQL]
{limits}
"""


def _isql(isql: str, sql_port: int, password: str, statements: str) -> str:
    done = subprocess.run([isql, f"127.0.0.1:{sql_port}", "dba", password, f"exec={statements}"],
                          capture_output=True, text=True, timeout=60, check=False)
    out = done.stdout + done.stderr
    if done.returncode != 0 or "*** Error" in out:
        raise RuntimeError(f"isql-vt failed: {out.strip()[-500:]}")
    return out


def _post(url: str, form: dict[str, str], timeout: float = 10) -> int:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def virtuoso_server(folder: Path, *, sparql: dict[str, int] | None = None, parameters: dict[str, int] | None = None,
                    ready_within: float = 90.0) -> Iterator[Virtuoso]:
    """Start Virtuoso on 127.0.0.1 in ``folder`` (created); always stop it on exit. ``sparql`` and ``parameters``
    override settings of the [SPARQL] and [Parameters] sections."""
    server_bin, isql = virtuoso_binaries()
    (folder / "db").mkdir(parents=True)
    (folder / "www").mkdir()
    http_port, sql_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(_ini(folder, http_port, sql_port, {**SPARQL_DEFAULTS, **(sparql or {})},
                        {**PARAMETER_DEFAULTS, **(parameters or {})}), encoding="utf-8")
    log = folder / "virtuoso.out"
    errlog = folder / "db" / "virtuoso.log"
    base = f"http://127.0.0.1:{http_port}"

    def ready() -> bool:
        started = errlog.is_file() and "Server online at" in errlog.read_text(errors="replace")
        return started and _post(f"{base}/sparql", {"query": "ASK {}"}, timeout=2) == 200

    with running([server_bin, "+configfile", str(ini), "+foreground"], log=log, cwd=folder,
                 stop_within=20) as process:
        deadline = time.monotonic() + ready_within  # waiting for readiness, not asserting a speed
        wait_until_ready(process, ready, deadline=deadline, every=0.2, name="virtuoso-t", see=f"{log} and {errlog}",
                         timed_out=f"Virtuoso did not answer on {base}; see {errlog}")
        user, password, dba = "eligo", secrets.token_hex(12), secrets.token_hex(12)
        _isql(isql, sql_port, "dba", f"""GRANT SPARQL_UPDATE TO "SPARQL";
DB.DBA.USER_CREATE('{user}', '{password}');
GRANT SPARQL_UPDATE TO "{user}";
DB.DBA.USER_CHANGE_PASSWORD('dba', 'dba', '{dba}');""")
        probe = {"update": "INSERT DATA { GRAPH <urn:eligo:probe> { <urn:a> <urn:b> <urn:c> } }"}
        while _post(f"{base}/sparql", probe) != 200:  # the grant takes effect once start-up has settled
            if time.monotonic() > deadline:
                raise RuntimeError(f"GRANT SPARQL_UPDATE did not take effect on {base}; see {errlog}")
            time.sleep(0.5)
            _isql(isql, sql_port, dba, 'GRANT SPARQL_UPDATE TO "SPARQL";')
        _post(f"{base}/sparql", {"update": "DROP SILENT GRAPH <urn:eligo:probe>"})
        yield Virtuoso(process, base, sql_port, user, password, errlog)
