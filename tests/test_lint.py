"""`eligo shapes lint`: clean on every trial, and each check really fires."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import TRIALS
from eligo.authoring.catalogue import render_markdown
from eligo.authoring.datareq import render_data_requirements
from eligo.authoring.lint import CHECKS, Finding, _batch_checks, _Folder, lint, parameter_text_checks
from eligo.cli import main
from eligo.engine.rule_checks import leaks, native_arithmetic, unrestricted_probes
from eligo.errors import TrialError
from eligo.paths import DEFAULT_TRIAL, PROJECT_ROOT, SHAPES_DIR
from eligo.terms import TermModule
from eligo.trial import Trial, parse_rule


@pytest.mark.parametrize("trial_id", TRIALS)
def test_every_trial_is_lint_clean(trial_id: str) -> None:
    findings = lint(SHAPES_DIR / trial_id)
    assert not findings, "\n".join(f.render(PROJECT_ROOT) for f in findings)


@pytest.mark.parametrize("trial_id", TRIALS)
def test_committed_catalogue_and_data_requirements_are_fresh(trial_id: str, terms: TermModule) -> None:
    suffix = "" if trial_id == DEFAULT_TRIAL else f"-{trial_id}"
    trial = Trial.load(trial_id)
    for name, text in ((f"criteria{suffix}.md", render_markdown(trial, terms)),
                       (f"data-requirements{suffix}.md", render_data_requirements(trial, terms))):
        committed = (PROJECT_ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == text, f"docs/{name} is stale: run `eligo shapes docs {trial_id}` and commit the result"


def broken_copy(tmp_path: Path, edit) -> Path:
    folder = tmp_path / DEFAULT_TRIAL
    shutil.copytree(SHAPES_DIR / DEFAULT_TRIAL, folder)
    edit(folder)
    return folder


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BREAKAGES = {
    "criterion-id": lambda f: _replace(f / "IN02-age.ttl", 'eligo:criterionId "IN02" ;', ""),
    "term-exists": lambda f: _replace(f / "IN01-informed-consent.ttl", "ecode:informed-consent",
                                      "ecode:informed-consnet"),
    "criterion-text": lambda f: _replace(f / "IN09-life-expectancy.ttl", "Life expectancy", "Life-expectancy"),
    "shape-target": lambda f: _replace(f / "IN15-liquid-biopsy-consent.ttl", "sh:targetClass eligo:Patient ;", ""),
    "parameter-used": lambda f: (f / "parameters.ttl").open("a").write(
        '\ntdxd:unusedThing a eligo:Parameter ; eligo:value 1 ; eligo:provenance "test" .\n'),
    "parameter-defined": lambda f: _replace(f / "IN09-life-expectancy.ttl",
                                            "sh:minExclusive tdxd:lifeExpectancyMinWeeks",
                                            "sh:minExclusive tdxd:lifeExpectancyTypo"),
    "fixtures": lambda f: (f / "fixtures" / "IN15.toml").unlink(),
    "outcome-mapping": lambda f: _replace(f / "IN09-life-expectancy.ttl", "eligo:NotMet, ", ""),
    "criterion-attestation": lambda f: _replace(f / "IN01-informed-consent.ttl", "eligo:attestation true ;", ""),
    "shacl-shacl": lambda f: _replace(f / "IN15-liquid-biopsy-consent.ttl", "sh:minCount 1", 'sh:minCount "one"'),
    "parameter-text": lambda f: _replace(f / "IN12-organ-function.ttl", "No platelet count within {labWindow}",
                                         "No platelet count within 14 days"),
    "rule-anchored": lambda f: _replace(f / "IN05-one-prior-anti-her2-taxane-line.ttl",
                                        "{ $this tdxd:countedAdvancedExposure ?t . ?t tdxd:startsNewLine ?m }",
                                        "{ ?t tdxd:startsNewLine ?m }"),
    "rule-arithmetic": lambda f: _replace(f / "IN12-organ-function.ttl", "eligo:divide(?v, ?uln)", "?v / ?uln"),
    "rule-probe": lambda f: _replace(f / "IN14-pregnancy.ttl", "OPTIONAL { $this tdxd:in14LatestHcg ?o .",
                                     "OPTIONAL {"),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Finding]]:
    """A copy of the default trial with every breakage, and its findings (linted once: lint takes seconds)."""
    folder = broken_copy(tmp_path_factory.mktemp("broken"), lambda f: [edit(f) for edit in BREAKAGES.values()])
    return folder, lint(folder)


def test_each_check_fires_on_a_broken_folder(broken: tuple[Path, list[Finding]]) -> None:
    _folder, findings = broken
    for check in BREAKAGES:
        assert check in CHECKS
        hits = [f for f in findings if f.check == check]
        assert hits, f"{check} did not fire: {[f.render() for f in findings]}"
        assert check == "shacl-shacl" or all(h.file is not None for h in hits), hits


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: (f / "IN02-age.ttl").open("a").write("\nthis is not turtle .\n"))
    hits = [f for f in lint(folder) if f.check == "parse"]
    assert hits and hits[0].file is not None and hits[0].file.name == "IN02-age.ttl" and hits[0].line


def test_missing_id_and_unknown_term_name_file_and_line(tmp_path: Path, capsys) -> None:
    def edit(f: Path) -> None:
        _replace(f / "IN02-age.ttl", 'eligo:criterionId "IN02" ;', "")
        _replace(f / "IN01-informed-consent.ttl", "ecode:informed-consent", "ecode:informed-consnet")
    folder = broken_copy(tmp_path, edit)
    assert main(["shapes", "lint", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "IN02-age.ttl:" in out and "[criterion-id]" in out
    assert "IN01-informed-consent.ttl:" in out and "informed-consnet" in out


def test_lint_exit_codes(capsys) -> None:
    assert main(["shapes", "lint", "--list"]) == 0
    assert main(["shapes", "lint", "no-such-trial"]) == 2


def test_unknown_term_in_a_property_shape_names_its_file(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: _replace(f / "IN11-lvef.ttl", "sh:path",
                                                      "sh:class eterm:NoSuchThing ; sh:path"))
    hits = [f for f in lint(folder) if f.check == "term-exists" and "NoSuchThing" in f.message]
    assert hits and hits[0].file is not None and hits[0].file.name == "IN11-lvef.ttl"


def test_parameter_text_flags_restated_values_with_file_and_line(tmp_path: Path) -> None:
    def edit(f: Path) -> None:
        _replace(f / "IN12-organ-function.ttl", "No platelet count within {labWindow}",
                 "No platelet count within 14 days")
        _replace(f / "IN12-organ-function.ttl", "below {ancMin}", "below 1.5 x10^9/L")
        _replace(f / "IN02-age.ttl", "Younger than {adultAge.value}", "Younger than 18")
        _replace(f / "IN11-lvef.ttl", "below {lvefMin}", "below 15% (IHC 3+, LOINC 2164-2, unit 1)")  # no values
    folder = broken_copy(tmp_path, edit)
    hits = {(h.file.name if h.file else None, h.line, h.message) for h in parameter_text_checks(folder)}
    lines = (folder / "IN12-organ-function.ttl").read_text(encoding="utf-8").splitlines()
    platelet_line = next(i for i, t in enumerate(lines, 1) if "No platelet count within 14 days" in t)
    assert any(n == "IN12-organ-function.ttl" and ln == platelet_line and "'14 days'" in m and "{labWindow}" in m
               for n, ln, m in hits), hits
    assert any("'1.5 x10^9/L'" in m and "{ancMin}" in m for _n, _l, m in hits)
    assert any(n == "IN02-age.ttl" and "'18'" in m and "{adultAge.value}" in m for n, _l, m in hits)
    assert not any(n == "IN11-lvef.ttl" for n, _l, _m in hits), hits
    assert len(hits) == 3, hits


def test_parameter_text_flags_an_unknown_placeholder_which_the_loader_refuses(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: _replace(f / "IN11-lvef.ttl", "{lvefMin}", "{lvefMinimum}"))
    hits = [h for h in lint(folder) if h.check == "parameter-text"]
    assert hits and hits[0].file is not None and hits[0].file.name == "IN11-lvef.ttl" and hits[0].line
    assert "{lvefMinimum} names no parameter" in hits[0].message
    with pytest.raises(TrialError, match=r"lvefMinimum.*did you mean \{lvefMin\}") as exc:
        Trial.load(folder)
    assert exc.value.source is not None and Path(exc.value.source).name == "IN11-lvef.ttl"


def test_rule_findings_name_the_rule_file_and_line(broken: tuple[Path, list[Finding]]) -> None:
    hits = [f for f in broken[1] if f.check == "rule-anchored"]
    assert hits and all(h.file is not None and h.file.name.startswith("IN05-") for h in hits), hits
    assert any(all(w in h.message for w in ("IN05-evidence", "UNION branch", "startsNewLine")) for h in hits), hits
    for h in hits:  # the line of the rule
        assert h.file is not None and h.line is not None
        assert "tdxd:IN05-evidence a sh:SPARQLRule" in h.file.read_text(encoding="utf-8").splitlines()[h.line - 1]


def test_shapes_the_batch_engine_cannot_compile_are_named(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, lambda f: (f / "IN11-lvef.ttl").open("a").write(
        "\ntdxd:IN11-either a sh:NodeShape ; eligo:criterion tdxd:IN11 ; eligo:onViolation eligo:Unknown ;\n"
        "    sh:targetClass eligo:Patient ; sh:message \"x\" ;\n"
        "    sh:or ( [ sh:path tdxd:latestLvef ; sh:minCount 1 ] [ sh:path tdxd:latestLvef ; sh:maxCount 0 ] ) .\n"))
    hits = list(_batch_checks(_Folder(folder, Trial.load(folder))))  # the check alone: lint takes seconds
    assert hits and all(h.file is not None and h.file.name == "IN11-lvef.ttl" for h in hits), hits
    assert "IN11-either" in hits[0].message and "sh:or" in hits[0].message and "pySHACL" in hits[0].message


# ------------------------------------------------------------------ rule-anchored, on small rules
#: Rules the batch engine would run differently from the per-patient engine, with the part the check names;
#: tests/test_batch_rules.py runs each on two patients and shows the difference.
BAD_RULES = {
    "leaking UNION branch": ("UNION branch", """
        CONSTRUCT { $this ex:flag ?o }
        WHERE { { ?o eligo:subject $this ; ex:kind ex:x } UNION { ?o ex:kind ex:y } }"""),
    "NOT EXISTS linked to $this only inside": ("NOT EXISTS", """
        CONSTRUCT { $this ex:unvetoed ?o }
        WHERE { $this ex:has ?o . { ?o ex:kind ex:x . FILTER NOT EXISTS { $this ex:veto ?v } } }"""),
    "aggregate without GROUP BY ?this": ("subquery", """
        CONSTRUCT { $this ex:count ?n }
        WHERE { $this a eligo:Patient . { SELECT (COUNT(?r) AS ?n) WHERE { ?r eligo:subject $this } } }"""),
    "OPTIONAL before $this is bound": ("OPTIONAL", """
        CONSTRUCT { $this ex:either true }
        WHERE { ex:limit eligo:value ?limit . OPTIONAL { $this ex:r ?r } OPTIONAL { $this ex:c ?c }
                FILTER (BOUND(?r) || BOUND(?c)) }"""),
    "FILTER reads $this never bound": ("expression", """
        CONSTRUCT { $this ex:count ?n }
        WHERE { { SELECT ?p (COUNT(?r) AS ?n) WHERE { ?r eligo:subject ?p } GROUP BY ?p } FILTER (?p = $this) }"""),
    "record reached through a shared value": ("rule", """
        CONSTRUCT { $this ex:sameKind ?other }
        WHERE { ?o eligo:subject $this ; ex:kind ?k . ?other ex:kind ?k }"""),
    "hierarchy of a constant code": ("rule", """
        CONSTRUCT { $this ex:groupOfD ?g }
        WHERE { $this a eligo:Patient . ex:d rdfs:subClassOf ?g }"""),
}
#: The same rules written to hang off $this: the check passes them and both engines agree.
GOOD_RULES = {
    "anchored UNION branches": """
        CONSTRUCT { $this ex:flag ?o }
        WHERE { { ?o eligo:subject $this ; ex:kind ex:x } UNION { ?o eligo:subject $this ; ex:kind ex:y } }""",
    "NOT EXISTS in the group that binds $this": """
        CONSTRUCT { $this ex:unvetoed ?o }
        WHERE { $this ex:has ?o . { $this ex:has ?o . ?o ex:kind ex:x . FILTER NOT EXISTS { $this ex:veto ?v } } }""",
    "aggregate grouped by ?this": """
        CONSTRUCT { $this ex:count ?n }
        WHERE { { SELECT ?this (COUNT(?r) AS ?n) WHERE { ?r eligo:subject $this } GROUP BY ?this } }""",
    "OPTIONAL after $this is bound": """
        CONSTRUCT { $this ex:either true }
        WHERE { $this a eligo:Patient . ex:limit eligo:value ?limit .
                OPTIONAL { $this ex:r ?r } OPTIONAL { $this ex:c ?c } FILTER (BOUND(?r) || BOUND(?c)) }""",
    "records of the patient with the same kind": """
        CONSTRUCT { $this ex:sameKind ?other }
        WHERE { ?o eligo:subject $this ; ex:kind ?k . ?other eligo:subject $this ; ex:kind ?k }""",
    "VALUES, parameters and codes hang off constants": """
        CONSTRUCT { $this ?link ?o }
        WHERE { VALUES (?kind ?link) { (ex:x ex:isX) (ex:y ex:isY) } ex:limit eligo:value ?limit .
                ?o eligo:subject $this ; ex:kind ?kind ; ex:code ?c . ?c rdfs:subClassOf ?group .
                OPTIONAL { ?o ex:value ?v } FILTER (!BOUND(?v) || ?v <= ?limit)
                FILTER NOT EXISTS { ?o ex:status ex:cancelled } }""",
}


@pytest.mark.parametrize("name", sorted(BAD_RULES))
def test_rule_anchored_refuses(name: str) -> None:
    where, text = BAD_RULES[name]
    found = leaks(parse_rule(text))
    assert found and any(leak.where == where for leak in found), [str(x) for x in found]


@pytest.mark.parametrize("name", sorted(GOOD_RULES))
def test_rule_anchored_passes(name: str) -> None:
    assert leaks(parse_rule(GOOD_RULES[name])) == []


def test_rule_arithmetic_names_what_the_engines_round_differently() -> None:
    q = parse_rule("""CONSTRUCT { $this ex:v ?x } WHERE { $this ex:a ?a ; ex:b ?b .
        { SELECT ?this (AVG(?z) AS ?m) WHERE { $this ex:z ?z } GROUP BY ?this }
        BIND (?a * ?b / 2 + ?m - 1 AS ?x) FILTER NOT EXISTS { $this ex:c ?c . FILTER (?c * 2 > 3) } }""")
    assert native_arithmetic(q) == ["'*'", "'/'", "AVG"]
    ok = parse_rule("CONSTRUCT { $this ex:v ?x } WHERE { $this ex:a ?a ; ex:p/rdfs:subClassOf* ?g . "
                    "BIND (eligo:divide(eligo:multiply(?a, 3), 2) + 1 AS ?x) }")
    assert native_arithmetic(ok) == []


# ------------------------------------------------------------------ rule-probe, on small rules
#: OPTIONAL groups of several patterns that Oxigraph would evaluate over the whole batch before joining them,
#: with the variable the check names; each is rewritten in PROBES_RESTRICTED.
UNRESTRICTED_PROBES = {
    "a record's dates": ("?c", """
        CONSTRUCT { $this ex:mi ?e } WHERE { ?c eligo:subject $this ; eligo:code/rdfs:subClassOf ex:MI .
            OPTIONAL { ?c ex:dateEarliest ?e ; ex:dateLatest ?l } }"""),
    "a group bound by VALUES before": ("?group", """
        CONSTRUCT { $this ex:latest ?o } WHERE { VALUES (?group ?link) { (ex:a ex:la) (ex:b ex:lb) }
            ?o eligo:subject $this ; eligo:code/rdfs:subClassOf ?group ; ex:date ?d .
            OPTIONAL { ?o2 eligo:subject $this ; eligo:code/rdfs:subClassOf ?group ; ex:date ?d2 .
                       FILTER (?d2 > ?d) } }"""),
    "a node bound by a UNION": ("?c", """
        CONSTRUCT { $this ex:treated ?c } WHERE { { $this ex:a ?c } UNION { $this ex:b ?x . ?x ex:c ?c }
            OPTIONAL { ?p eligo:subject $this ; ex:reason ?c } }"""),
}
PROBES_RESTRICTED = {
    "a record's dates": """
        CONSTRUCT { $this ex:mi ?e } WHERE { ?c eligo:subject $this ; eligo:code/rdfs:subClassOf ex:MI .
            OPTIONAL { ?c eligo:code/rdfs:subClassOf ex:MI ; ex:dateEarliest ?e ; ex:dateLatest ?l } }""",
    "a group bound by VALUES before": """
        CONSTRUCT { $this ex:latest ?o } WHERE { VALUES (?group ?link) { (ex:a ex:la) (ex:b ex:lb) }
            ?o eligo:subject $this ; eligo:code/rdfs:subClassOf ?group ; ex:date ?d .
            OPTIONAL { VALUES ?group { ex:b ex:a } ?o2 eligo:subject $this ; eligo:code/rdfs:subClassOf ?group ;
                       ex:date ?d2 . FILTER (?d2 > ?d) } }""",
    "a node bound by a UNION": """
        CONSTRUCT { $this ex:treated ?c } WHERE { { $this ex:a ?c } UNION { $this ex:b ?x . ?x ex:c ?c }
            OPTIONAL { { $this ex:a ?c } UNION { $this ex:b ?x . ?x ex:c ?c }
                       ?p eligo:subject $this ; ex:reason ?c } }""",
    "one pattern is looked up row by row": """
        CONSTRUCT { $this ex:mi ?e } WHERE { ?c eligo:subject $this . OPTIONAL { ?c ex:dateEarliest ?e } }""",
}


@pytest.mark.parametrize("name", sorted(UNRESTRICTED_PROBES))
def test_rule_probe_names_the_variable_to_restrict(name: str) -> None:
    var, text = UNRESTRICTED_PROBES[name]
    found = unrestricted_probes(parse_rule(text))
    assert len(found) == 1 and f"binds {var} in the group before it" in found[0], found


@pytest.mark.parametrize("name", sorted(PROBES_RESTRICTED))
def test_rule_probe_passes_a_probe_that_repeats_its_anchor(name: str) -> None:
    assert unrestricted_probes(parse_rule(PROBES_RESTRICTED[name])) == []


def test_a_different_values_list_is_not_a_repeat() -> None:
    _var, text = UNRESTRICTED_PROBES["a group bound by VALUES before"]
    other = text.replace("OPTIONAL { ?o2", "OPTIONAL { VALUES ?group { ex:a } ?o2")
    assert len(unrestricted_probes(parse_rule(other))) == 1


def test_a_rule_probe_warns_without_failing_the_lint(broken: tuple[Path, list[Finding]], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = broken_copy(tmp_path, BREAKAGES["rule-probe"])
    assert main(["shapes", "lint", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "warning: [rule-probe] rule IN14-hcg-result" in out and "0 finding(s), 1 warning(s)" in out, out
    hits = [f for f in broken[1] if f.check == "rule-probe"]
    assert hits and all(h.is_warning and h.file is not None and h.file.name.startswith("IN14-") for h in hits)
    assert "IN14-hcg-result" in hits[0].message and "?o" in hits[0].message
    assert hits[0].render().startswith(f"{hits[0].file}:{hits[0].line}: warning: [rule-probe]")
    assert not any(f.is_warning for f in broken[1] if f.check != "rule-probe")
