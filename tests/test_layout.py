"""The engine is trial-agnostic: no file of the package names a trial or one of its criteria.

The rule, precisely: no line of any file under ``src/eligo/`` (code, strings, comments and docstrings
alike; compiled files excepted) contains
- a criterion id: ``IN`` or ``EX`` followed by two digits, as a whole word;
- a trial's namespace: anything under ``https://eligo.dev/trial/``, or a prefix a trial declares
  (``tdxd:``);
- a trial id: the name of any folder under ``shapes/``.
The one exception is the line of ``src/eligo/paths.py`` that sets ``DEFAULT_TRIAL``: the trial
``eligo check`` screens when none is named. An example in a docstring uses a placeholder
(``"<trial id>"``) instead.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from eligo.paths import PROJECT_ROOT, SHAPES_DIR
from eligo.trial import Trial

PACKAGE = PROJECT_ROOT / "src" / "eligo"
ALLOWED = {(PACKAGE / "paths.py", re.compile(r'^DEFAULT_TRIAL = "[^"]+"$'))}
TRIAL_IDS = sorted(p.name for p in SHAPES_DIR.iterdir() if p.is_dir())


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    patterns = {"criterion id": re.compile(r"\b(?:IN|EX)\d{2}\b"),
                "trial namespace": re.compile(re.escape("https://eligo.dev/trial/"))}
    for tid in TRIAL_IDS:
        patterns[f"trial id {tid}"] = re.compile(rf"(?<![\w-]){re.escape(tid)}(?![\w-])")
        for prefix in Trial.load(tid).prefixes:
            patterns[f"trial prefix {prefix}:"] = re.compile(rf"(?<![\w-]){re.escape(prefix)}:")
    return patterns


def _package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo"))


def _allowed(path: Path, line: str) -> bool:
    return any(path == f and rule.match(line.strip()) for f, rule in ALLOWED)


def offences(path: Path) -> list[str]:
    """Each line of ``path`` that names a trial or a criterion, with what it names."""
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    return [f"{shown}:{n}: names a {what}: {line.strip()}"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            for what, pattern in _patterns().items() if pattern.search(line) and not _allowed(path, line)]


def test_the_package_names_no_trial_and_no_criterion() -> None:
    assert TRIAL_IDS, "no trial folders under shapes/"
    found = [o for f in _package_files() for o in offences(f)]
    assert not found, "trial knowledge belongs in shapes/, not in src/:\n" + "\n".join(found)


@pytest.mark.parametrize("line", ['x = "IN04"', "# as EX09 reads it", '"""Screener(trial="{tid}")"""',
                                  'NS = "https://eligo.dev/trial/x#"', 'DEFAULT_TRIAL = "{tid}"'])
def test_the_rule_fires(tmp_path: Path, line: str) -> None:
    f = tmp_path / "module.py"
    f.write_text(line.format(tid=TRIAL_IDS[0]) + "\n", encoding="utf-8")
    assert offences(f)


@pytest.mark.parametrize("line", ["INDEX = 1", '"EX1"', "IN100", "x = 'shapes/<trial id>/IN-foo'"])
def test_the_rule_spares_lookalikes(tmp_path: Path, line: str) -> None:
    f = tmp_path / "module.py"
    f.write_text(line + "\n", encoding="utf-8")
    assert not offences(f)


def test_the_default_trial_line_is_the_only_exception() -> None:
    paths = PACKAGE / "paths.py"
    lines = [line for line in paths.read_text(encoding="utf-8").splitlines() if line.startswith("DEFAULT_TRIAL")]
    assert len(lines) == 1 and _allowed(paths, lines[0])
    assert not _allowed(PACKAGE / "cli.py", lines[0])
