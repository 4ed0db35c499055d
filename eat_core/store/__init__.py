"""The DuckDB workspace, one file, split by concern: one module per group of tables behind one ``Store`` class.

* ``schema.py``: the migrations (every table of every concern, numbered);
* ``base.py``: brief connections, lock retries, migrations, the version check, read-only queries, blobs;
* ``llm_calls.py``: the LLM-call cache and the calls each shard used;
* ``runs.py``: runs, their inputs, shards, predictions and metrics (the single writer of an evaluation);
* ``results.py``: reading runs back for reports (run lookups, configurations, metrics, costs, failures);
* ``tagging.py``: ``eat tag`` runs; ``silver.py``: silver sets and students; ``alignments.py``: word alignments of
  the ``align`` silver route; ``eacl.py``: EACL pages and pairs.
"""

from __future__ import annotations

from eat_core.store.alignments import AlignmentsStore
from eat_core.store.base import StoreBase, default_db_path, get_blob, put_blob, read_only
from eat_core.store.eacl import EaclStore
from eat_core.store.llm_calls import CachedCall, LLMCallsStore
from eat_core.store.results import ResultsStore
from eat_core.store.runs import RunsStore
from eat_core.store.schema import MIGRATIONS, SCHEMA_VERSION
from eat_core.store.silver import SilverStore
from eat_core.store.tagging import TagStore


class Store(LLMCallsStore, RunsStore, ResultsStore, TagStore, SilverStore, AlignmentsStore, EaclStore, StoreBase):
    """One DuckDB file per workspace. Cheap to construct; connections are opened per operation."""


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "CachedCall", "Store", "default_db_path", "get_blob", "put_blob",
           "read_only"]
