"""Where eligo finds its project data (ontology, shapes, queries).

eligo runs from a checkout (``pip install -e .``): the data folders sit at the
top of the project, two levels above this package. Every public function that
reads them also takes an explicit path, so nothing depends on this default.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
SHAPES_DIR = PROJECT_ROOT / "shapes"
QUERIES_DIR = PROJECT_ROOT / "queries"
EXAMPLES_DIR = PROJECT_ROOT / "examples"

#: The trial ``eligo check`` screens when none is named.
DEFAULT_TRIAL = "tdxd-her2-liquid-biopsy"
