"""The overall verdict rule and the outcome precedence (CRITERIA.md, Outcomes)."""

from __future__ import annotations

import itertools

from eligo import CriterionResult, Kind, Outcome, Verdict
from eligo.engine.verdict import overall_verdict


def result(cid: str, outcome: Outcome, *, attestation: bool = False) -> CriterionResult:
    return CriterionResult(id=cid, kind=Kind.INCLUSION, label=cid, outcome=outcome,
                           attestation=attestation, reason="", needs=(), evidence=())


def test_all_met_is_eligible() -> None:
    assert overall_verdict([result("A", Outcome.MET), result("B", Outcome.NOT_APPLICABLE)]) is Verdict.ELIGIBLE


def test_not_met_beats_everything() -> None:
    rs = [result("A", Outcome.NOT_MET), result("B", Outcome.UNKNOWN), result("C", Outcome.UNKNOWN, attestation=True)]
    assert overall_verdict(rs) is Verdict.INELIGIBLE


def test_computable_unknown_is_needs_data() -> None:
    rs = [result("A", Outcome.MET), result("B", Outcome.UNKNOWN), result("C", Outcome.UNKNOWN, attestation=True)]
    assert overall_verdict(rs) is Verdict.NEEDS_DATA


def test_only_attestations_unknown_is_pending() -> None:
    rs = [result("A", Outcome.MET), result("C", Outcome.UNKNOWN, attestation=True)]
    assert overall_verdict(rs) is Verdict.PENDING_ATTESTATION


def test_eligible_only_when_nothing_unknown_or_not_met() -> None:
    outcomes = list(Outcome)
    for combo in itertools.product(outcomes, repeat=3):
        for att in itertools.product([False, True], repeat=3):
            rs = [result(str(i), o, attestation=a) for i, (o, a) in enumerate(zip(combo, att, strict=True))]
            v = overall_verdict(rs)
            safe = all(o in (Outcome.MET, Outcome.NOT_APPLICABLE) for o in combo)
            assert (v is Verdict.ELIGIBLE) == safe, (combo, att, v)
