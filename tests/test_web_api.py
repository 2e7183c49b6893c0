"""`eligo serve` through the ASGI test client: the token, the JSON API against the CLI, escaping, bad uploads,
CSRF, attestations (in memory and written into a store or an endpoint), and logs without patient data.

The trial is loaded once (the session screener); the CLI runs in-process with that same screener, so its
output is compared with the API's without loading the trial again for every example.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eligo import Screener
from eligo.cli import main
from eligo.ingest.batch import discover
from eligo.paths import EXAMPLES_DIR
from eligo.population.load import load_patients, load_reference_graphs, write_run
from eligo.population.results import RunInfo
from eligo.population.store import EmbeddedStore, SparqlEndpoint
from eligo.population.workers import screen_with
from eligo.web import create_app
from eligo.web.serve import resolve_token
from eligo.web.state import Memo
from oxigraph_server import oxigraph_server

TOKEN = "test-token-" + "x" * 24
BEARER = {"Authorization": f"Bearer {TOKEN}"}
INDEX = "2026-12-01"
INDEX_DATE = dt.date(2026, 12, 1)
EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.suffix in (".json", ".ttl"))


@pytest.fixture(scope="module")
def app(screener: Screener):  # type: ignore[no-untyped-def]
    return create_app(trial=screener, token=TOKEN, default_index_date=None)


@pytest.fixture()
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        assert c.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page has no form with a CSRF token"
    return m.group(1)


def upload(client: TestClient, data: bytes, name: str, *, index_date: str = INDEX, csrf: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf if csrf is not None else csrf_of(client.get("/").text)
    return client.post("/check", data={"csrf": token, "index_date": index_date},
                       files={"file": (name, data, "application/octet-stream")}, follow_redirects=False)


def verdict_of(html: str) -> str:
    m = re.search(r'class="verdict-label">([^<]+)<', html)
    assert m, "no verdict banner"
    return m.group(1)


def cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------- the token
def test_every_page_and_api_call_needs_the_token(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        for path in ("/", "/trial", "/api/openapi.json", "/static/eligo.css", "/cohort", "/no-such-page"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert "a token is needed" in r.text
        assert c.post("/api/check?index_date=2026-12-01", content=b"{}").status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        assert c.get("/api/openapi.json", headers=BEARER).status_code == 200
        r = c.get(f"/trial?token={TOKEN}&x=1", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/trial?x=1"  # the token leaves the address
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and TOKEN not in cookie
        page = c.get("/trial")
        assert page.status_code == 200 and "IN04" in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script" not in csp and "unsafe" not in csp
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text.lower()


def test_serve_refuses_other_addresses_without_a_token_file(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "refusing to listen on 0.0.0.0 without --token-file" in capsys.readouterr().err
    short = tmp_path / "token"
    short.write_text("short\n")
    assert main(["serve", "--host", "0.0.0.0", "--token-file", str(short)]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    short.write_text(TOKEN + "\n")
    assert resolve_token(host="0.0.0.0", token_file=short) == (TOKEN, False)
    token, generated = resolve_token(host="127.0.0.1", token_file=None)
    assert generated and len(token) >= 32


# ---------------------------------------------------------------- POST /api/check = eligo check --format json
@pytest.mark.parametrize("name", EXAMPLES)
def test_api_check_is_the_cli_document(name: str, client: TestClient, screener: Screener,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(importlib.import_module("eligo.check"), "Screener", lambda **_: screener)  # trial loaded once
    expected = cli_json(["check", str(EXAMPLES_DIR / name), "--index-date", INDEX, "--format", "json"], capsys)
    ctype = "application/fhir+json" if name.endswith(".json") else "text/turtle"
    r = client.post(f"/api/check?index_date={INDEX}", content=(EXAMPLES_DIR / name).read_bytes(),
                    headers={**BEARER, "Content-Type": ctype})
    assert r.status_code == 200
    assert r.json() == json.loads(expected)
    assert r.text == expected
    # without a media type the body is recognised (JSON by its first character, else Turtle)
    bare = client.post(f"/api/check?index_date={INDEX}", content=(EXAMPLES_DIR / name).read_bytes(), headers=BEARER)
    assert bare.json() == json.loads(expected)


def test_api_check_options_and_one_line_errors(client: TestClient) -> None:
    body = (EXAMPLES_DIR / "needs-data.ttl").read_bytes()
    r = client.post(f"/api/check?index_date={INDEX}&criterion=IN11&criterion=IN04", content=body, headers=BEARER)
    assert [c["id"] for c in r.json()["criteria"]] == ["IN11", "IN04"]  # as `eligo check --criterion`
    cases = [
        (f"/api/check?index_date={INDEX}", b'{"resourceType": "Bundle",', "body.json: malformed JSON at line 1"),
        (f"/api/check?index_date={INDEX}", b"@prefix ex: <x> .\nex:a ex:b", "body.ttl: malformed turtle"),
        (f"/api/check?index_date={INDEX}", b"  \n", "the request body is empty"),
        ("/api/check", body, "index_date: give the planned enrolment"),
        ("/api/check?index_date=2026-13-01", body, "'2026-13-01' is not a date"),
        (f"/api/check?index_date={INDEX}&criterion=IN99", body, "has no criterion 'IN99'"),
    ]
    for url, data, message in cases:
        r = client.post(url, content=data, headers=BEARER)
        assert r.status_code == 400, url
        error = r.json()["error"]
        assert message in error and "\n" not in error and "Traceback" not in error


def test_oversized_uploads_get_413(client: TestClient) -> None:
    big = b" " * (64 * 2**20 + 1)
    r = client.post(f"/api/check?index_date={INDEX}", content=big, headers=BEARER)
    assert r.status_code == 413 and "may be at most 64 MB" in r.json()["error"]
    chunks = (b" " * 2**20 for _ in range(65))  # no Content-Length: counted as it arrives
    assert client.post(f"/api/check?index_date={INDEX}", content=chunks, headers=BEARER).status_code == 413
    r = upload(client, b"{" + b" " * (64 * 2**20), "huge.json")  # the form's file part alone is over the limit
    assert r.status_code == 413 and "huge.json: the file is 64 MB" in r.text


def test_a_malformed_upload_gets_400_with_the_cli_message(client: TestClient) -> None:
    r = upload(client, b"@prefix eligo: <https://eligo.dev/ns#> .\n\neligo:p eligo:q [ .\n", "broken.ttl")
    assert r.status_code == 400
    assert "broken.ttl: malformed turtle at line 3" in r.text and "Traceback" not in r.text
    r = upload(client, b"", "empty.json")
    assert r.status_code == 400 and "the file is empty" in r.text
    r = upload(client, b'{"resourceType": "Observation", "id": "x"}', "no-patient.json")
    assert r.status_code == 400 and "no-patient.json: no Patient resource" in r.text
    r = upload(client, (EXAMPLES_DIR / "eligible.ttl").read_bytes(), "eligible.ttl", index_date="soon")
    assert r.status_code == 400 and "&#39;soon&#39; is not a date" in r.text


# ---------------------------------------------------------------- escaping, CSRF, logs
def hostile_bundle() -> bytes:
    doc = json.loads((EXAMPLES_DIR / "needs-data.json").read_text())
    for entry in doc["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["name"] = [{"text": '<script>alert("x")</script> O\'Brien "Q" & co'}]
    doc["entry"].append({"fullUrl": "urn:uuid:hostile", "resource": {
        "resourceType": "MedicationStatement", "id": "hostile", "status": "completed",
        "subject": {"reference": "Patient/needs-data"}, "effectivePeriod": {"start": "2026-03-01", "end": "2026-05-01"},
        "medicationCodeableConcept": {"coding": [{"system": "http://hospital.example/drugs", "code": "X1",
                                                  "display": "<script>alert('y')</script> \"Enhertu\" & <b>"}]}}})
    return json.dumps(doc).encode()


def test_names_and_displays_are_escaped(client: TestClient) -> None:
    r = upload(client, hostile_bundle(), "hostile.json")
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "<script" not in page.lower() and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; O&#39;Brien &#34;Q&#34; &amp; co" in page  # the name
    assert "&lt;script&gt;alert(\\&#39;y\\&#39;)&lt;/script&gt; &#34;Enhertu&#34; &amp; &lt;b&gt;" in page  # a warning
    printed = client.get(r.headers["location"] + "/print").text
    assert "<script" not in printed.lower() and "&lt;script&gt;" in printed


def test_forms_without_the_csrf_token_are_refused(client: TestClient) -> None:
    data = (EXAMPLES_DIR / "pending-attestation.ttl").read_bytes()
    assert upload(client, data, "p.ttl", csrf="").status_code == 403
    assert upload(client, data, "p.ttl", csrf="0" * 64).status_code == 403
    r = upload(client, data, "p.ttl")
    assert r.status_code == 303
    refused = client.post(r.headers["location"] + "/attest", data={"topic": "informed-consent", "who": "x",
                                                                   "when": "2026-11-20", "value": "true"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    with TestClient(client.app) as other:  # another session sees neither the patient nor the forms
        other.get(f"/?token={TOKEN}")
        assert other.get(r.headers["location"]).status_code == 404


def test_no_patient_data_in_the_server_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = upload(client, hostile_bundle(), "hostile.json")
    client.get(r.headers["location"])
    client.post(f"/api/check?index_date={INDEX}", content=b"{not json", headers=BEARER)
    text = caplog.text
    assert "POST /check 303" in text and "POST /api/check 400" in text
    for secret in ("Brien", "needs-data", "Enhertu", "hostile", TOKEN, "not json"):
        assert secret not in text, secret


# ---------------------------------------------------------------- attestations
def record(client: TestClient, page_url: str, html: str, **fields: str):  # type: ignore[no-untyped-def]
    form = {"csrf": csrf_of(html), **fields}
    action = re.search(r'<form class="attest"[^>]*action="([^"]+)"', html)
    assert action
    hidden = dict(re.findall(r'<input type="hidden" name="(key|run)" value="([^"]+)"', html))
    return client.post(action.group(1).replace("&amp;", "&"), data={**hidden, **form})


def test_attestations_make_a_pending_patient_eligible_and_download_as_fhir(client: TestClient) -> None:
    r = upload(client, (EXAMPLES_DIR / "pending-attestation.ttl").read_bytes(), "pending-attestation.ttl")
    url = r.headers["location"]
    html = client.get(url).text
    assert verdict_of(html) == "PENDING-ATTESTATION"
    assert 'id="attest-IN09"' in html and 'id="attest-IN15"' in html and 'id="attest-IN01"' not in html
    bad = record(client, url, html, topic="life-expectancy-weeks", who="Dr A. Rossi", when="2026-12-02", value="52")
    assert bad.status_code == 400 and "after the index date" in bad.text
    bad = record(client, url, html, topic="life-expectancy-weeks", who=" ", when="2026-11-20", value="52")
    assert bad.status_code == 400 and "who: name the person" in bad.text
    html = record(client, url, html, topic="life-expectancy-weeks", who="Dr A. Rossi", when="2026-11-20",
                  value="52", note="discussed at tumour board").text
    assert verdict_of(html) == "PENDING-ATTESTATION" and "IN09 life expectancy &gt; 12 weeks: unknown → met." in html
    html = record(client, url, html, topic="liquid-biopsy-sampling-agreed", who="J. Doe", when="2026-11-21",
                  value="true").text
    assert verdict_of(html) == "ELIGIBLE" and "Verdict: PENDING-ATTESTATION → ELIGIBLE." in html
    bundle = client.get(url + "/attestations.json").json()
    observations = [e["resource"] for e in bundle["entry"]]
    assert {o["code"]["coding"][0]["code"] for o in observations} == {"life-expectancy-weeks",
                                                                      "liquid-biopsy-sampling-agreed"}
    for o in observations:
        assert o["code"]["coding"][0]["system"] == "https://eligo.dev/fhir/CodeSystem/eligo"
        assert o["subject"] == {"reference": "Patient/pending-attestation"}
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    assert by_code["life-expectancy-weeks"]["valueQuantity"]["code"] == "wk"
    assert by_code["life-expectancy-weeks"]["note"] == [{"text": "discussed at tumour board"}]
    assert by_code["liquid-biopsy-sampling-agreed"]["performer"] == [{"display": "J. Doe"}]
    assert by_code["liquid-biopsy-sampling-agreed"]["effectiveDateTime"] == "2026-11-21"
    # the downloaded Observations added to the FHIR form of the same patient make it eligible for the CLI's API
    doc = json.loads((EXAMPLES_DIR / "pending-attestation.json").read_text())
    doc["entry"] += copy.deepcopy(bundle["entry"])
    checked = client.post(f"/api/check?index_date={INDEX}", content=json.dumps(doc).encode(), headers=BEARER)
    assert checked.json()["verdict"] == "eligible"
    printed = client.get(url + "/print").text
    assert "Attested by J. Doe on 2026-11-21" in printed and "Investigator: name" in printed
    assert "Shapes version" in printed and "sha256:" in printed


def test_an_attestation_never_overrides_a_data_derived_not_met(client: TestClient) -> None:
    brain = """
ex:bm a eligo:Condition ; eligo:subject ex:p ; eligo:sourceId "Condition/bm" ;
     eligo:code sct:94225005 ; eligo:date "2026-06-01"^^xsd:date ; eligo:clinicalStatus "active" ;
     eligo:verificationStatus "confirmed" .
ex:dex a eligo:MedicationExposure ; eligo:subject ex:p ; eligo:sourceId "MedicationStatement/dex" ;
     eligo:code rxnorm:3264 ; eligo:status "active" ; eligo:start "2026-11-01"^^xsd:date .
"""
    text = (EXAMPLES_DIR / "eligible.ttl").read_text()
    text += ("\n@prefix sct: <http://snomed.info/id/> .\n"
             "@prefix rxnorm: <http://purl.bioontology.org/ontology/RXNORM/> .\n")
    r = upload(client, (text + brain).encode(), "brain.ttl")
    url = r.headers["location"]
    html = client.get(url).text
    assert verdict_of(html) == "INELIGIBLE" and 'id="crit-IN10" class="row-not-met"' in html
    html = record(client, url, html, topic="brain-metastases-symptomatic", who="Dr A. Rossi", when="2026-11-25",
                  value="no").text
    assert verdict_of(html) == "INELIGIBLE", re.findall(r"<li>(.*?)</li>", html)[:8]
    assert "Nothing changed for IN10: it is not-met from the patient&#39;s data" in html
    assert "never overrides a data-derived not-met" in html


# ---------------------------------------------------------------- a store and an endpoint
def build_store(backend: EmbeddedStore | SparqlEndpoint, screener: Screener) -> None:
    inputs = sorted(EXAMPLES_DIR.glob("*.json"))
    load_reference_graphs(backend, screener.trial)
    load_patients(backend, inputs)
    rows = [screen_with(screener, unit, INDEX_DATE) for unit in discover(inputs)]
    run = RunInfo.new(screener.trial, index_date=INDEX_DATE, terms_version="sha256:test", started=None, ended=None)
    write_run(backend, run, screener.trial, rows)


def attest_pending_in_store(c: TestClient) -> str:
    html = c.get("/patient", params={"key": "Patient/pending-attestation"}).text
    assert verdict_of(html) == "PENDING-ATTESTATION" and "Stored in run" in html
    html = record(c, "/patient", html, topic="life-expectancy-weeks", who="Dr A. Rossi", when="2026-11-20",
                  value="40").text
    html = record(c, "/patient", html, topic="liquid-biopsy-sampling-agreed", who="J. Doe", when="2026-11-20",
                  value="true").text
    assert verdict_of(html) == "ELIGIBLE"
    assert re.search(r"run https://eligo.dev/run/\w+ updated: Patient/pending-attestation is now ELIGIBLE", html)
    return html


def test_store_patient_attestation_updates_the_run_and_the_cohort_api(
        tmp_path: Path, screener: Screener, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "store"
    with EmbeddedStore(path, create=True) as store:
        build_store(store, screener)
    expected = {q: cli_json(["cohort", *q.split(), "--store", str(path), "--format", "json"], capsys)
                for q in ("candidates", "data-gaps --param criterion=IN15", "runs")}
    expected_csv = cli_json(["cohort", "data-gaps", "--param", "criterion=IN15", "--store", str(path),
                             "--format", "csv"], capsys)
    app = create_app(trial=screener, store=path, token=TOKEN, prewarm=False)
    with TestClient(app) as c:
        assert c.get("/api/cohort/candidates", headers=BEARER).text == expected["candidates"]
        assert c.get("/api/cohort/runs", headers=BEARER).text == expected["runs"]
        assert c.get("/api/cohort/data-gaps?criterion=IN15", headers=BEARER).text == expected[
            "data-gaps --param criterion=IN15"]
        assert c.get("/api/cohort/data-gaps?colour=red", headers=BEARER).status_code == 400
        assert c.get("/api/cohort/..%2Fsecret", headers=BEARER).status_code == 404
        c.get(f"/?token={TOKEN}")
        assert c.get("/cohort/worklist.csv?criterion=IN15").text == expected_csv
        worklist = c.get("/cohort/worklist?criterion=IN15").text
        assert '<a href="/patient?key=Patient/pending-attestation&amp;run=' in worklist
        assert "<svg" in c.get("/cohort").text and "unknown at this criterion" in c.get("/cohort").text
        attest_pending_in_store(c)
        candidates = c.get("/api/cohort/candidates", headers=BEARER).json()["rows"]
        assert {"patient": "Patient/pending-attestation", "verdict": "eligible"} in [
            {k: r[k] for k in ("patient", "verdict")} for r in candidates]
        assert "Patient/pending-attestation" not in c.get("/cohort/worklist?criterion=IN15").text
        assert "Patient/pending-attestation" in c.get("/patient/attestations.json",
                                                       params={"key": "Patient/pending-attestation"}).text
        assert c.get("/patient", params={"key": "Patient/nobody"}).status_code == 404


def test_endpoint_patient_attestation_updates_the_run(tmp_path: Path, screener: Screener) -> None:
    with oxigraph_server(tmp_path / "oxigraph") as server:
        build_store(SparqlEndpoint(server.query_url), screener)
        app = create_app(trial=screener, endpoint=server.query_url, token=TOKEN, prewarm=False)
        with TestClient(app) as c:
            c.get(f"/?token={TOKEN}")
            attest_pending_in_store(c)
            gaps = c.get("/api/cohort/data-gaps", headers=BEARER).json()["rows"]
            assert "Patient/pending-attestation" not in {r["patient"] for r in gaps}


def test_memo_computes_once_per_key_until_cleared() -> None:
    memo, calls = Memo(), []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.05)
        return len(calls)

    threads = [threading.Thread(target=memo.get, args=("k", compute)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert memo.get("k", compute) == 1 and len(calls) == 1  # concurrent requests waited for the first
    memo.clear()
    assert memo.get("k", compute) == 2


def test_openapi_document_describes_the_api(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/check", "/api/cohort", "/api/cohort/{query}"} <= set(spec["paths"])
    check = spec["paths"]["/api/check"]["post"]
    assert {"application/fhir+json", "text/turtle"} <= set(check["requestBody"]["content"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "data-gaps" in spec["paths"]["/api/cohort/{query}"]["get"]["parameters"][0]["schema"]["enum"]
    page = client.get("/api")
    assert page.status_code == 200 and "POST /api/check" in page.text
