"""Where the repository and the test data are: one definition for conftest.py, the tests and the benchmarks.

Real data: the full benchmark files at ``../shared/data`` (or ``$EAT_SHARED_DATA``) when present, otherwise the small
real-data fixture committed under ``tests/data``. ``WIKIANN`` and ``EACL`` point at whichever is in use.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
SHARED_DATA = Path(os.environ.get("EAT_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURE_DATA = TESTS / "data"
HAVE_FULL_DATA = (SHARED_DATA / "wikiann").is_dir()
DATA = SHARED_DATA if HAVE_FULL_DATA else FIXTURE_DATA
WIKIANN = DATA / "wikiann"
EACL = DATA / "eacl-official"
FULL_WIKIANN = SHARED_DATA / "wikiann"
FULL_EACL = SHARED_DATA / "eacl-official"
