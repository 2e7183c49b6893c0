"""Render a Screening as JSON (the DESIGN.md contract) or as a text table."""

from __future__ import annotations

import enum
import json
import textwrap
from typing import Any

from eligo.engine.verdict import Screening, Verdict
from eligo.trial import Outcome


def to_dict(s: Screening) -> dict[str, Any]:
    """The JSON contract of ``eligo check --format json``."""
    return {
        "patient": s.patient,
        "trial": s.trial,
        "index_date": s.index_date.isoformat(),
        "verdict": s.verdict.value,
        "criteria": [
            {
                "id": c.id,
                "kind": c.kind.value,
                "outcome": c.outcome.value,
                "attestation": c.attestation,
                "reason": c.reason,
                "needs": list(c.needs),
                "evidence": [e.source_id for e in c.evidence],
            }
            for c in s.criteria
        ],
        "warnings": [str(w) for w in s.warnings],
    }


def to_json(s: Screening) -> str:
    return json.dumps(to_dict(s), indent=2, ensure_ascii=False)


_COLOURS = {
    Outcome.MET: "32", Outcome.NOT_APPLICABLE: "36", Outcome.UNKNOWN: "33", Outcome.NOT_MET: "31",
    Verdict.ELIGIBLE: "1;32", Verdict.PENDING_ATTESTATION: "1;36", Verdict.NEEDS_DATA: "1;33",
    Verdict.INELIGIBLE: "1;31",
}


def _paint(text: str, key: object, colour: bool) -> str:
    code = _COLOURS.get(key) if isinstance(key, enum.Enum) else None
    return f"\033[{code}m{text}\033[0m" if colour and code else text


def to_text(s: Screening, *, colour: bool = False, width: int = 100) -> str:
    """A readable table: verdict on top, one row per criterion, then needs and warnings."""
    lines = [
        f"Patient {s.patient}   trial {s.trial}   index date {s.index_date.isoformat()}",
        "Verdict: " + _paint(s.verdict.value.upper(), s.verdict, colour),
        "",
    ]
    reason_width = max(30, width - 33)
    for c in s.criteria:
        tag = f"{c.id}{'*' if c.attestation else ''}"
        wrapped = textwrap.wrap(c.reason, reason_width) or [""]
        outcome = _paint(f"{c.outcome.value:<15}", c.outcome, colour)
        lines.append(f"  {tag:<6} {outcome} {wrapped[0]}")
        lines.extend(f"  {'':<6} {'':<15} {w}" for w in wrapped[1:])
        for n in c.needs:
            lines.append(f"  {'':<6} {'':<15} needs: {n}")
        if c.evidence:
            ev = "; ".join(e.describe() for e in c.evidence)
            for i, w in enumerate(textwrap.wrap(ev, reason_width)):
                lines.append(f"  {'':<6} {'':<15} {'evidence: ' if i == 0 else '          '}{w}")
    lines.append("")
    lines.append("  * attestation criterion (a coordinator's statement, not a data record)")
    if s.warnings:
        lines.append("")
        lines.append("Warnings:")
        lines.extend(f"  - {w}" for w in s.warnings)
    return "\n".join(lines)
