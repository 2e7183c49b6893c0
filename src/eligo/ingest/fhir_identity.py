"""Who a FHIR resource is and whose it is: ids, content digests, subject references, and which resource
types belong to no patient. The one place every reader (one patient file, a Bundle of many, an NDJSON
export) takes these from."""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: Resource types that belong to no patient: referenced from patients' records (a Medication, its
#: ingredients' Substances), or not at all. A batch reader never assigns them to a patient.
SHARED_TYPES = frozenset({"Medication", "Substance", "Practitioner", "PractitionerRole", "Organization",
                          "Location", "Device", "Group"})
#: Shared resources that a patient's records refer to and eligo reads through the reference.
REFERENCED_TYPES = frozenset({"Medication", "Substance"})
#: Patient resources eligo does not map and does not report as unread (context of the records it reads).
CONTEXT_TYPES = frozenset({"Encounter", "Specimen", "DiagnosticReport", "Provenance"})


def resource_id(res: dict[str, Any]) -> str | None:
    """A resource's id when it is a usable FHIR id (a non-empty string, or a number written as one)."""
    rid = res.get("id")
    if isinstance(rid, bool):
        return None
    if isinstance(rid, int):
        return str(rid)
    return rid if isinstance(rid, str) and rid.strip() else None


def source_id(res: dict[str, Any]) -> str:
    """``Type/id`` as a record's source id (``?`` for what is missing)."""
    return f"{res.get('resourceType', '?')}/{resource_id(res) or '?'}"


def content_digest(res: Any) -> str:
    """SHA-256 of the resource's canonical JSON: equal for identical copies, whatever their key order."""
    text = json.dumps(res, sort_keys=True, ensure_ascii=False, allow_nan=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def subject_reference(res: dict[str, Any]) -> str | None:
    """The patient a record refers to (``subject``, else ``patient``), as written."""
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return str(ref["reference"])
    return None


def patient_aliases(pid: str) -> tuple[str, str]:
    """The references by which a record may name Patient ``pid``."""
    return f"Patient/{pid}", f"urn:uuid:{pid}"


class PatientCopies:
    """The Patient resources of an input, by id: the first copy of each, identical copies read once,
    different copies under one id a conflict (that patient is not screened)."""

    def __init__(self) -> None:
        self.first_at: dict[str, str] = {}
        self._digest: dict[str, str] = {}
        self.conflicts: dict[str, tuple[str, str]] = {}  # pid -> (where first seen, where it differs)

    def add(self, pid: str, res: dict[str, Any], where: str) -> str:
        """``"new"``, ``"identical"`` (a repeat, read once) or ``"conflict"``."""
        digest = content_digest(res)
        if pid not in self._digest:
            self._digest[pid], self.first_at[pid] = digest, where
            return "new"
        if self._digest[pid] == digest:
            return "identical"
        self.conflicts.setdefault(pid, (self.first_at[pid], where))
        return "conflict"

    def conflict_message(self, pid: str) -> str:
        first, again = self.conflicts[pid]
        return (f"Patient/{pid} appears at {first} and again at {again} with different content; it was not "
                "screened: keep one version")
