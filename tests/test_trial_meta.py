"""The first trial folder matches the product spec (docs/spec/CRITERIA.md).

Convention checks (metadata, terms, parameters, fixtures, SHACL-SHACL) are
`eligo shapes lint`, tested in test_lint.py; this file checks the spec itself.
"""

from __future__ import annotations

import re

import pytest

from eligo import Kind, Trial
from eligo.paths import PROJECT_ROOT

SPEC = PROJECT_ROOT / "docs" / "spec" / "CRITERIA.md"
SHARED_SPEC = PROJECT_ROOT.parent / "shared" / "CRITERIA.md"


def spec_rows() -> dict[str, bool]:
    """Criterion id -> attestation flag, from the spec's tables."""
    rows = re.findall(r"^\| (IN\d\d|EX\d\d)( \*\*A\*\*)? \|", SPEC.read_text(encoding="utf-8"), re.M)
    return {cid: bool(att) for cid, att in rows}


def test_spec_snapshot_matches_shared_copy() -> None:
    if not SHARED_SPEC.is_file():
        pytest.skip("no ../shared/CRITERIA.md beside this checkout")
    assert SPEC.read_text(encoding="utf-8") == SHARED_SPEC.read_text(encoding="utf-8"), (
        "docs/spec/CRITERIA.md is out of date: copy ../shared/CRITERIA.md over it and review the change")


def test_spec_lists_24_criteria() -> None:
    assert len(spec_rows()) == 24


def test_every_spec_criterion_is_encoded_with_its_kind_and_attestation_flag(trial: Trial) -> None:
    rows = spec_rows()
    assert sorted(c.id for c in trial.criteria) == sorted(rows)
    for c in trial.criteria:
        assert c.kind is (Kind.INCLUSION if c.id.startswith("IN") else Kind.EXCLUSION), c.id
        assert c.attestation is rows[c.id], f"{c.id}: attestation flag differs from the spec"


def test_catalogue_order_is_inclusions_then_exclusions_by_number(trial: Trial) -> None:
    ids = [c.id for c in trial.criteria]
    assert ids == sorted(ids, key=lambda i: (i[:2] != "IN", int(i[2:])))
