"""Looking runs up by id: thin functions over :class:`~eat_core.store.results.ResultsStore`, which turns an unknown
or ambiguous run id into a user error."""

from __future__ import annotations

from eat_core.store import Store


def require_run(store: Store, run_id: str) -> str:
    """``run_id`` if ``store`` has it; else one line naming the most recent runs there (exit 2 in the CLI)."""
    return store.require_run(run_id)


def latest_run(store: Store) -> str:
    """The most recent run of ``store``; :class:`~eat_core.errors.StoreError` if it holds none."""
    return store.latest_run()
