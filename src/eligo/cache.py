"""An on-disk cache of loaded trials and term modules, so that a new process need not parse them again.

Parsing a trial's SPARQL rules and the term module's Turtle costs seconds; unpickling the loaded objects
costs a tenth of that. An entry is keyed by the SHA-256 of everything the loaded object is built from: the
input files' names and bytes, the path they were read from, eligo's version and source code, and the
versions of Python, rdflib and pyparsing. An entry of another key, or one that cannot be read, is ignored
(and rebuilt); an entry is written atomically (a temporary file, then a rename), so concurrent processes
never read half of one. Nothing is cached unless a caller names the folder (``cache_dir``); the CLI uses
:func:`default_cache_dir`. The folder holds pickles: it must be writable by its user only (it is created
with mode 0700), as anyone who can write it can run code as that user.

rdflib's parsed queries hold ``CompValue`` nodes, which the standard pickler cannot rebuild; this module's
pickler reduces them to their name, items and attributes (see :func:`_reduce_comp`).
"""

from __future__ import annotations

import copyreg
import hashlib
import importlib.metadata
import io
import os
import pickle
import sys
import tempfile
import types
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from rdflib.plugins.sparql import operators
from rdflib.plugins.sparql.parserutils import CompValue, Expr

__all__ = ["cached", "default_cache_dir", "files_digest"]

T = TypeVar("T")
_MAGIC = b"eligo-cache 1\n"
_PACKAGE_DIR = Path(__file__).resolve().parent


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/eligo``, or ``~/.cache/eligo`` when ``XDG_CACHE_HOME`` is unset or not absolute
    (the XDG Base Directory specification)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "eligo"


def files_digest(files: Iterable[Path], root: Path) -> str:
    """SHA-256 over each file's name (relative to ``root``) and bytes, in the order given; a missing file
    counts as missing, not as empty."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(b"\1" + f.read_bytes() if f.is_file() else b"\2")
        h.update(b"\0")
    return h.hexdigest()


def _code_digest() -> str:
    """What a cached object also depends on: eligo's version and source, Python's, rdflib's and pyparsing's
    versions."""
    import pyparsing
    import rdflib

    try:
        version = importlib.metadata.version("eligo")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree without installing: the source
        version = "unknown"                          # digest below still tells versions apart
    parts = f"{version}\0{sys.version}\0{rdflib.__version__}\0{pyparsing.__version__}\0"
    return hashlib.sha256(parts.encode() + files_digest(sorted(_PACKAGE_DIR.rglob("*.py")), _PACKAGE_DIR)
                          .encode()).hexdigest()


# ---------------------------------------------------------------------------------- pickling rdflib queries
def _true_filter() -> Expr:
    return operators.TrueFilter


def _new_comp(cls: type[CompValue], name: str) -> CompValue:
    obj = cls.__new__(cls)
    OrderedDict.__init__(obj)
    obj.__dict__["name"] = name
    return obj


def _set_comp_state(obj: CompValue, state: dict[str, Any]) -> None:
    fn = state.pop("_evalfn", None)
    obj.__dict__.update(state)
    if fn is not None:  # an Expr's evaluation function is bound to the node itself
        obj.__dict__["_evalfn"] = types.MethodType(fn, obj)


def _reduce_comp(obj: CompValue) -> tuple[Any, ...]:
    """A parsed-query node as (its class and name; its items; its attributes, the bound evaluation function
    as the plain module-level function). Nodes may refer to each other, so items and attributes are set
    after the node exists."""
    if obj is operators.TrueFilter:  # the one node rdflib shares between queries (its function is a lambda)
        return (_true_filter, ())
    state = {k: v for k, v in vars(obj).items() if k != "name"}
    if isinstance(state.get("_evalfn"), types.MethodType):
        state["_evalfn"] = state["_evalfn"].__func__
    return (_new_comp, (type(obj), obj.name), state, None, iter(list(OrderedDict.items(obj))), _set_comp_state)


class _Pickler(pickle.Pickler):
    dispatch_table = {**copyreg.dispatch_table, CompValue: _reduce_comp, Expr: _reduce_comp}


# ---------------------------------------------------------------------------------- the store
def _entry(cache_dir: Path, kind: str, location: Path) -> Path:
    where = hashlib.sha256(str(location.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"{kind}-{where}.pickle"


def _read(path: Path, key: bytes, cls: type[T]) -> T | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(_MAGIC + key + b"\n"):
        return None
    try:
        obj = pickle.loads(data[len(_MAGIC) + len(key) + 1:])
    except Exception:  # an unreadable entry (truncated, or from another version) is rebuilt
        return None
    return obj if type(obj) is cls else None


def _write(path: Path, key: bytes, obj: object) -> None:
    buf = io.BytesIO()
    buf.write(_MAGIC + key + b"\n")
    try:
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getvalue())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return  # a cache that cannot be written only costs time: the object was built anyway


def cached(cache_dir: Path, kind: str, location: Path, inputs: str, cls: type[T], build: Callable[[], T]) -> T:
    """The object ``build()`` returns for the inputs at ``location`` (digest ``inputs``), from
    ``cache_dir`` when an entry of the same key is there, else built and stored."""
    key = hashlib.sha256(f"{kind}\0{location}\0{inputs}\0{cls.__module__}.{cls.__qualname__}\0"
                         f"{_code_digest()}".encode()).hexdigest().encode()
    path = _entry(cache_dir, kind, location)
    found = _read(path, key, cls)
    if found is not None:
        return found
    obj = build()
    _write(path, key, obj)
    return obj
