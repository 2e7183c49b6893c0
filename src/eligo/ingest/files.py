"""Reading a patient file's bytes, with the errors every reader shares."""

from __future__ import annotations

from pathlib import Path

from eligo.errors import InputError


def read_nonempty_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable or empty file is an InputError naming it."""
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=str(path)) from exc
    if not data.strip():
        raise InputError("the file is empty", source=str(path))
    return data
