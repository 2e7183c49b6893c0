"""`eligo serve` in a real browser: Playwright for Python driving Debian's Chromium (headless, no network).

The real server runs (uvicorn on 127.0.0.1 and a free port, in a thread, stopped at teardown) over a
200-patient store built with `eligo synth 200` and `eligo load`. A coordinator uploads the pending-attestation
example, records the missing attestations and sees ELIGIBLE; then opens the funnel, filters the worklist by a
criterion, downloads its CSV (compared with `eligo cohort data-gaps --format csv`) and opens a patient from it.
Each test saves screenshots in its tmp folder. `make test` installs Chromium when it is missing; without it
(and no root to install it) these tests skip.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eligo import Screener
from eligo.cli import main
from eligo.paths import EXAMPLES_DIR
from oxigraph_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does it as root)",
                allow_module_level=True)

TOKEN = "browser-test-" + "y" * 24
CRITERION = "IN11"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@dataclass(frozen=True)
class Site:
    base: str
    expected_csv: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, screener: Screener) -> Iterator[Site]:
    import uvicorn

    from eligo.web import create_app

    root = tmp_path_factory.mktemp("web")
    store = root / "store"
    assert main(["synth", "200", "--seed", "11", "--out", str(root / "pop")]) == 0
    assert main(["load", str(root / "pop"), "--store", str(store), "--index-date", "2026-12-01",
                 "--workers", "2", "--progress", "never"]) == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # the CLI's CSV, before the server holds the store
        assert main(["cohort", "data-gaps", "--store", str(store), "--param", f"criterion={CRITERION}",
                     "--format", "csv"]) == 0
    app = create_app(trial=screener, store=store, token=TOKEN)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, name="eligo-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield Site(f"http://127.0.0.1:{port}", printed.getvalue())
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, site: Site, tmp_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # CSP violations land here
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(f"{site.base}/?token={TOKEN}")
    assert pg.url == f"{site.base}/", "the token should leave the address"
    yield pg
    context.close()
    assert not problems, problems


def shot(pg, tmp_path: Path, name: str, *, full: bool = True) -> None:  # type: ignore[no-untyped-def]
    pg.screenshot(path=str(tmp_path / f"{name}.png"), full_page=full)
    if os.environ.get("ELIGO_SCREENSHOTS"):  # for a person to look at: copy them somewhere stable
        Path(os.environ["ELIGO_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / f"{name}.png", Path(os.environ["ELIGO_SCREENSHOTS"]) / f"{name}.png")


def test_upload_attest_and_become_eligible(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg = page
    pg.set_input_files("#file", str(EXAMPLES_DIR / "pending-attestation.json"))
    pg.fill("#index_date", "2026-12-01")
    pg.click("form.upload button[type=submit]")
    expect = playwright_api.expect
    expect(pg.locator("#verdict .verdict-label")).to_have_text("PENDING-ATTESTATION")
    expect(pg.locator("#crit-IN09 .badge")).to_have_text("unknown")
    shot(pg, tmp_path, "1-pending-attestation")
    form = pg.locator("#attest-IN09")
    form.locator("input[name=who]").fill("Dr A. Rossi, investigator")
    form.locator("input[name=when]").fill("2026-11-20")
    form.locator("input[name=value]").fill("52")
    form.locator("button[type=submit]").click()
    expect(pg.locator(".panel.flash")).to_contain_text("IN09 life expectancy > 12 weeks: unknown → met.")
    form = pg.locator("#attest-IN15")
    form.locator("input[name=who]").fill("J. Doe, research coordinator")
    form.locator("input[name=when]").fill("2026-11-21")
    form.locator("input[name=value][value=true]").check()
    form.locator("button[type=submit]").click()
    expect(pg.locator("#verdict .verdict-label")).to_have_text("ELIGIBLE")
    expect(pg.locator(".panel.flash")).to_contain_text("Verdict: PENDING-ATTESTATION → ELIGIBLE.")
    shot(pg, tmp_path, "2-eligible-after-attestations")
    with pg.expect_download() as info:
        pg.click("text=Download attestations (FHIR Bundle)")
    assert info.value.suggested_filename == "Patient-pending-attestation-attestations.json"
    pg.click("text=Eligibility checklist (print)")
    expect(pg.locator("h1")).to_have_text("Eligibility checklist")
    pg.emulate_media(media="print")
    expect(pg.locator("header.top")).to_be_hidden()
    expect(pg.locator(".attested").first).to_contain_text("Attested by")
    shot(pg, tmp_path, "3-checklist-print")


def test_funnel_worklist_csv_and_patient(page, site: Site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg = page
    expect = playwright_api.expect
    pg.click("nav >> text=Cohort")
    expect(pg.locator("svg.funnel")).to_be_visible()
    expect(pg.locator("svg.funnel rect[fill='#f0a202']").first).to_be_attached()  # the unknown bars
    shot(pg, tmp_path, "4-cohort-funnel")
    pg.click("nav >> text=Worklist")
    pg.select_option("#criterion", CRITERION)
    pg.click("form.filters button[type=submit]")
    expected_rows = site.expected_csv.strip().splitlines()[1:]
    patients = {line.split(",", 1)[0] for line in expected_rows}
    expect(pg.locator("#summary")).to_contain_text(f"{len(expected_rows)} rows, {len(patients)} patients for "
                                                   f"{CRITERION}")
    assert pg.locator("table.worklist tbody tr").count() == len(expected_rows) > 0
    pg.click("table.worklist thead >> text=Patient")  # sort by patient, then back the other way
    pg.click("table.worklist thead >> text=Patient")
    first = pg.locator("table.worklist tbody tr td a").first.inner_text()
    assert first == max(patients)
    shot(pg, tmp_path, "5-worklist-filtered")
    with pg.expect_download() as info:
        pg.click("#csv")
    downloaded = Path(info.value.path()).read_text()
    assert downloaded == site.expected_csv
    pg.locator("table.worklist tbody tr td a").first.click()
    expect(pg.locator("#verdict .verdict-label")).to_have_text("NEEDS-DATA")
    expect(pg.locator(f"#crit-{CRITERION} .badge")).to_have_text("unknown")
    shot(pg, tmp_path, "6-patient-from-store")
