"""The on-disk cache of loaded trials and term modules: a cached load screens exactly as a fresh one, and
any change to the files it was built from (or an unreadable entry) means a fresh load."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from rdflib.compare import isomorphic

from eligo import Screener, TermModule, TermModuleError, Trial
from eligo.cache import default_cache_dir
from eligo.cli import main
from eligo.paths import DEFAULT_TRIAL, EXAMPLES_DIR, ONTOLOGY_DIR, SHAPES_DIR
from eligo.report import to_json
from eligo.terms import HIERARCHY_FILE

EXAMPLES = sorted([*EXAMPLES_DIR.glob("*.ttl"), *EXAMPLES_DIR.glob("*.json")])
TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())
INDEX_DATE = dt.date(2026, 12, 1)
SMALL_TRIAL = min(TRIALS, key=lambda t: len(list((SHAPES_DIR / t).glob("*.ttl"))))


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, loading a trial or term module by parsing fails: a load must come from the cache."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("parsed instead of read from the cache")

    monkeypatch.setattr(Trial, "__init__", refuse)
    monkeypatch.setattr(TermModule, "__init__", refuse)
    monkeypatch.setattr("eligo.terms.load_sources", refuse)


@pytest.mark.parametrize("trial_id", TRIALS)
def test_a_cached_load_screens_every_example_as_a_fresh_one(
        trial_id: str, terms: TermModule, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = Screener(trial=Trial.load(trial_id), terms=terms)
    Screener(trial=trial_id, cache_dir=tmp_path)  # fills the cache
    assert sorted(p.name.split("-")[0] for p in tmp_path.glob("*.pickle")) == ["terms", "trial"]
    _no_parsing(monkeypatch)
    cached = Screener(trial=trial_id, cache_dir=tmp_path)
    assert [r.text for r in cached.trial.rules] == [r.text for r in fresh.trial.rules]
    assert isomorphic(cached.trial.graph, fresh.trial.graph)
    assert cached.terms.codes == terms.codes
    for path in EXAMPLES:
        assert (to_json(cached.check(path, index_date=INDEX_DATE))
                == to_json(fresh.check(path, index_date=INDEX_DATE))), path.name


def test_editing_a_trial_file_means_a_fresh_load(tmp_path: Path) -> None:
    folder = tmp_path / "trial"
    shutil.copytree(SHAPES_DIR / SMALL_TRIAL, folder)
    cache = tmp_path / "cache"
    before = Trial.load(folder, cache_dir=cache)
    assert Trial.load(folder, cache_dir=cache).title == before.title
    trial_ttl = folder / "trial.ttl"
    text = trial_ttl.read_text(encoding="utf-8")
    assert f'"{before.title}"' in text
    trial_ttl.write_text(text.replace(f'"{before.title}"', '"An edited title"'), encoding="utf-8")
    assert Trial.load(folder, cache_dir=cache).title == "An edited title"
    (folder / "trial.ttl").write_text(text, encoding="utf-8")
    assert Trial.load(folder, cache_dir=cache).title == before.title
    assert len(list(cache.glob("*.pickle"))) == 1  # one entry per folder, replaced when its files change


def test_editing_a_term_file_means_a_fresh_load(tmp_path: Path) -> None:
    ontology = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, ontology)
    cache = tmp_path / "cache"
    TermModule.load(ontology, cache_dir=cache)
    term_file = sorted((ontology / "terms").glob("*.ttl"))[0]
    term_file.write_text(term_file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(TermModuleError, match="stale"):  # as a fresh load says: the hierarchy is out of date
        TermModule.load(ontology, cache_dir=cache)
    (ontology / HIERARCHY_FILE).unlink()
    with pytest.raises(TermModuleError, match="missing"):
        TermModule.load(ontology, require_fresh=False, cache_dir=cache)


def test_an_unreadable_entry_is_rebuilt(tmp_path: Path, trial: Trial, monkeypatch: pytest.MonkeyPatch) -> None:
    Trial.load(DEFAULT_TRIAL, cache_dir=tmp_path)
    [entry] = tmp_path.glob("*.pickle")
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2])
    again = Trial.load(DEFAULT_TRIAL, cache_dir=tmp_path)
    assert [c.id for c in again.criteria] == [c.id for c in trial.criteria]
    assert not list(tmp_path.glob(".*.tmp"))
    _no_parsing(monkeypatch)  # the entry was written whole again
    assert [c.id for c in Trial.load(DEFAULT_TRIAL, cache_dir=tmp_path).criteria] == [c.id for c in trial.criteria]


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "eligo"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored, as the standard says
    assert default_cache_dir() == Path.home() / ".cache" / "eligo"


def test_cli_cache_options(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                           tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    example = EXAMPLES_DIR / "eligible.ttl"
    argv = ["check", str(example), "--index-date", "2026-12-01", "--format", "json"]
    assert main([*argv, "--no-cache"]) == 0
    fresh = capsys.readouterr().out
    assert not (tmp_path / "xdg").exists()
    assert main([*argv, "--cache-dir", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out == fresh
    assert len(list((tmp_path / "c").glob("*.pickle"))) == 2
    assert main(argv) == 0
    assert capsys.readouterr().out == fresh
    assert len(list((tmp_path / "xdg" / "eligo").glob("*.pickle"))) == 2
    assert main([*argv, "--no-cache", "--cache-dir", str(tmp_path)]) == 2
