"""Batch screening: modes agree, bad input never loses rows, interrupted runs resume exactly."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

import pytest

from eligo import Trial
from eligo.authoring.synth import generate, write_bulk
from eligo.batch import Engine
from eligo.errors import EngineMismatchError, TermModuleError
from eligo.ingest.batch import Unit, discover
from eligo.paths import DEFAULT_TRIAL
from eligo.population.executors import BATCHES_IN_FLIGHT_PER_WORKER, rows_dask, rows_pool, tasks
from eligo.population.rows import Row
from eligo.population.screen import screen
from eligo.population.workers import init_worker, screen_units_in_worker, screen_units_on_dask_worker

INDEX = dt.date(2026, 12, 1)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def by_patient(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in rows(path):
        assert r["patient"] not in out, f"duplicate row for {r['patient']}"
        out[r["patient"]] = {k: v for k, v in r.items() if k != "source"}
    return out


@pytest.fixture(scope="module")
def population(tmp_path_factory, trial: Trial, terms) -> Path:
    out = tmp_path_factory.mktemp("pop") / "bulk"
    write_bulk(generate(150, seed=11, trial=trial, terms=terms, index_date=INDEX), out)
    return out


@pytest.fixture(scope="module")
def screened(population: Path, tmp_path_factory, startup_cache: Path) -> Path:
    """The reference rows: the pySHACL engine, one patient at a time."""
    out = tmp_path_factory.mktemp("out") / "rows.jsonl"
    summary = screen([population], index_date=INDEX, out=out, workers=2, progress=False, engine=Engine.PYSHACL,
                     cache_dir=startup_cache)
    assert summary.total == 150 and summary.errors == 0
    return out


def test_synth_is_deterministic(tmp_path: Path, trial: Trial, terms) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_bulk(generate(20, seed=3, trial=trial, terms=terms, index_date=INDEX), a)
    write_bulk(generate(20, seed=3, trial=trial, terms=terms, index_date=INDEX), b)
    for f in sorted(a.iterdir()):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name
    write_bulk(generate(20, seed=4, trial=trial, terms=terms, index_date=INDEX), c := tmp_path / "c")
    assert any(f.read_bytes() != (c / f.name).read_bytes() for f in sorted(a.iterdir()) if (c / f.name).exists())


def test_population_reaches_every_outcome_of_every_criterion(screened: Path, trial: Trial) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for r in rows(screened):
        for cid, outcome in r["criteria"].items():
            seen[cid].add(outcome)
    for c in trial.criteria:
        missing = {o.value for o in c.possible_outcomes} - seen[c.id]
        assert not missing, f"{c.id} never {missing} in the synthetic population"
    verdicts = {r["verdict"] for r in rows(screened)}
    assert verdicts == {"eligible", "ineligible", "needs-data", "pending-attestation"}


def test_single_process_pool_and_dask_give_identical_rows(population: Path, screened: Path, tmp_path: Path,
                                                          startup_cache: Path) -> None:
    """The batch engine in one process (one batch), in a pool (batches of 40) and on Dask (batches of 25)
    writes exactly the pySHACL engine's rows."""
    from distributed import LocalCluster

    single = tmp_path / "single.jsonl"
    screen([population], index_date=INDEX, out=single, workers=1, progress=False, cache_dir=startup_cache)
    assert by_patient(single) == by_patient(screened)
    pool = tmp_path / "pool.jsonl"
    screen([population], index_date=INDEX, out=pool, workers=2, progress=False, batch_size=40, verify_sample=0.1,
           cache_dir=startup_cache)
    assert by_patient(pool) == by_patient(screened)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask_out = tmp_path / "dask.jsonl"
        summary = screen([population], index_date=INDEX, out=dask_out, scheduler=cluster.scheduler_address,
                         progress=False, batch_size=25, cache_dir=startup_cache)
        assert summary.total == 150
    assert by_patient(dask_out) == by_patient(screened)


def test_bad_inputs_never_lose_rows(population: Path, tmp_path: Path, startup_cache: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(population, folder / "bulk")
    patient = '{"resourceType":"Patient","id":"%s","gender":"female","birthDate":"1970-01-01"}'
    # a patient with no records at all
    (folder / "bulk" / "Patient.ndjson").open("a").write(patient % "empty" + "\n")
    # a malformed NDJSON line and a haemoglobin in an unconvertible unit
    with (folder / "bulk" / "Observation.ndjson").open("a") as fh:
        fh.write('{"resourceType": "Observation", "id": "broken", \n')
        fh.write(json.dumps({"resourceType": "Observation", "id": "hb-odd", "status": "final",
                             "subject": {"reference": "Patient/empty"}, "effectiveDateTime": "2026-11-25",
                             "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                             "valueQuantity": {"value": 11, "unit": "furlongs", "code": "[fur_us]"}}) + "\n")
    # a Bundle file that is not JSON at all, and one RDF file
    (folder / "bad.json").write_text("{ not json", encoding="utf-8")
    shutil.copy(Path(__file__).parents[1] / "examples" / "eligible.ttl", folder / "eligible.ttl")
    out = tmp_path / "rows.csv"
    summary = screen([folder / "bulk", folder / "bad.json", folder / "eligible.ttl"], index_date=INDEX, out=out,
                     fmt="csv", workers=2, progress=False, cache_dir=startup_cache)
    lines = out.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["patient", "source", "verdict", "error"]
    assert len(lines) - 1 == 150 + 1 + 1 + 2  # patients + empty + eligible.ttl + two input problems
    table = {ln.split(",")[0]: dict(zip(header, ln.split(","), strict=False)) for ln in lines[1:]}
    assert table["Patient/empty"]["verdict"] == "needs-data" and table["Patient/empty"]["IN12"] == "unknown"
    assert table["Patient/eligible"]["verdict"] == "eligible"
    errors = [k for k, v in table.items() if v["error"]]
    assert len(errors) == 2 and all(k.startswith("input:") for k in errors)
    assert summary.errors == 0 and len(summary.input_problems) == 2


def test_interrupted_run_resumes_to_the_same_rows(population: Path, screened: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    cmd = [sys.executable, "-m", "eligo", "screen", str(population), "--index-date", INDEX.isoformat(),
           "--out", str(out), "--workers", "1", "--trial", DEFAULT_TRIAL, "--batch-size", "5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 20):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = out.read_text().count("\n")
    assert 20 <= partial < 150, partial
    with out.open("a") as fh:
        fh.write('{"patient": "Patient/torn-wri')  # as if killed in the middle of a write
    subprocess.run([*cmd, "--resume"], check=True, capture_output=True, timeout=600)
    assert by_patient(out) == by_patient(screened)


# ---------------------------------------------------------------- workers that die
def _units(population: Path, n: int) -> list[Unit]:
    return [u for u in discover([population]) if isinstance(u, Unit)][:n]


CRASHER_ENV = "ELIGO_TEST_CRASH_PATIENT"  # read only by the test work functions below, in the worker processes


def _crash_on_one(args: tuple[list[Unit], dt.date]) -> list[Row]:
    """Pool work function for the tests: the worker dies (as if killed for memory) on a batch holding one
    patient."""
    if any(u.key == os.environ.get(CRASHER_ENV) for u in args[0]):
        os._exit(9)
    return screen_units_in_worker(args)


def _crash_on_one_dask(units: list[Unit], index_date: dt.date, trial: str, engine: Engine,
                       verify_sample: float) -> list[Row]:
    if any(u.key == os.environ.get(CRASHER_ENV) for u in units):
        os._exit(9)
    return screen_units_on_dask_worker(units, index_date, trial, engine=engine, verify_sample=verify_sample)


def _pool_workers() -> list:
    import psutil  # installed with distributed

    return [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]


def test_a_killed_worker_loses_no_row(population: Path, screened: Path, tmp_path: Path,
                                     startup_cache: Path) -> None:
    """A worker killed from outside (the OOM killer, an operator) mid-run: every patient still gets its row."""
    killed: list[int] = []

    def kill_a_worker(row: object) -> None:
        if not killed:
            victim = _pool_workers()[0]
            killed.append(victim.pid)
            victim.kill()

    out = tmp_path / "rows.jsonl"
    summary = screen([population], index_date=INDEX, out=out, workers=2, progress=False, on_row=kill_a_worker,
                     batch_size=10, cache_dir=startup_cache)
    assert killed, "no worker was killed: the test did not test anything"
    assert summary.total == 150 and summary.errors == 0
    assert by_patient(out) == by_patient(screened)


def test_a_patient_that_kills_its_worker_gets_an_error_row_and_nobody_else_does(
        population: Path, screened: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crasher's batch of 4 is retried one patient at a time: its three batch mates get their rows."""
    units = _units(population, 12)
    crasher = units[3].key
    monkeypatch.setenv(CRASHER_ENV, crasher)  # inherited by the spawned workers
    batch = partial(init_worker, engine=Engine.BATCH)
    got = list(rows_pool(tasks(iter(units), 4), 2, index_date=INDEX, trial=DEFAULT_TRIAL, run=_crash_on_one,
                         init=batch, in_flight=BATCHES_IN_FLIGHT_PER_WORKER))
    assert sorted(r.patient for r in got) == sorted(u.key for u in units)  # one row each, none twice
    expected = by_patient(screened)
    for r in got:
        if r.patient == crasher:
            assert r.verdict is None and r.error is not None and r.error.startswith("worker lost:")
        else:
            assert r.error is None and r.to_json() | {"source": None} == expected[r.patient] | {"source": None}


def _cannot_start(trial: str) -> None:
    raise TermModuleError("the materialised hierarchy is stale (as a test)")


def test_workers_that_cannot_start_stop_the_run_with_their_own_error(population: Path) -> None:
    """Not a row of 'worker lost' per patient, slowly: the set-up's own message, once."""
    with pytest.raises(TermModuleError, match="hierarchy is stale"):
        list(rows_pool(tasks(iter(_units(population, 6)), 1), 2, index_date=INDEX, trial=DEFAULT_TRIAL,
                       init=_cannot_start))


def test_a_patient_that_keeps_killing_dask_workers_gets_an_error_row(
        population: Path, screened: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask retries a task whose worker died, then fails it with KilledWorker; the run goes on. A patient that
    happened to sit on the dying worker twice may fail too (Dask counts it as suspect): such a row must say so."""
    import dask
    from distributed import LocalCluster

    units = _units(population, 8)
    crasher = units[2].key
    monkeypatch.setenv(CRASHER_ENV, crasher)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        got = list(rows_dask(tasks(iter(units), 2), index_date=INDEX, scheduler=cluster.scheduler_address,
                              trial=DEFAULT_TRIAL, run=_crash_on_one_dask, engine=Engine.BATCH))
    assert sorted(r.patient for r in got) == sorted(u.key for u in units)
    expected = by_patient(screened)
    for r in got:
        if r.patient == crasher or r.error is not None:
            assert r.verdict is None and r.error is not None and r.error.startswith("worker lost:"), r
        else:
            assert r.to_json() | {"source": None} == expected[r.patient] | {"source": None}
    assert sum(r.error is None for r in got) >= len(units) // 2  # the others, on the whole, screened normally


# ---------------------------------------------------------------- the shadow check
def test_verify_sample_stops_the_run_on_a_difference(population: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`--verify-sample` re-checks patients with pySHACL; a batch engine that disagrees stops the run with
    an error naming the patient and the difference (here the batch engine is broken on purpose)."""
    import dataclasses

    from eligo.engine.batch_store import BatchEngine

    real = BatchEngine.run

    def broken(self: BatchEngine, batch: list) -> list:
        out = real(self, batch)
        first = out[0]
        wrong = dataclasses.replace(first.results[0], reason="a different reason")
        return [dataclasses.replace(first, results=(wrong, *first.results[1:])), *out[1:]]

    monkeypatch.setattr(BatchEngine, "run", broken)
    with pytest.raises(EngineMismatchError, match=r"disagree on Patient/.*reason: pySHACL"):
        screen([population], index_date=INDEX, out=tmp_path / "rows.jsonl", workers=1, progress=False,
               batch_size=20, verify_sample=1.0)


def test_verify_sample_picks_a_stable_random_fraction() -> None:
    from eligo.population.workers import verify_chosen

    keys = [f"Patient/{i}" for i in range(4000)]
    chosen = [k for k in keys if verify_chosen(k, 0.1)]
    assert 320 <= len(chosen) <= 480  # about a tenth
    assert chosen == [k for k in keys if verify_chosen(k, 0.1)]  # the same on every run
    assert not any(verify_chosen(k, 0.0) for k in keys) and all(verify_chosen(k, 1.0) for k in keys)
