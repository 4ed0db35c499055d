"""Looking runs up by id: the one place that turns an unknown or ambiguous run id into a user error."""

from __future__ import annotations

from eat_core.errors import ConfigError, StoreError
from eat_core.store import Store


def require_run(store: Store, run_id: str) -> str:
    """``run_id`` if ``store`` has it; else one line naming the most recent runs there (exit 2 in the CLI)."""
    if store.query("SELECT 1 FROM runs WHERE run_id = ?", [run_id]):
        return run_id
    recent = [r[0] for r in store.query("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 5")]
    shown = ", ".join(recent) if recent else "none yet"
    raise ConfigError(f"unknown run {run_id!r} in {store.path}; most recent runs: {shown}")



def latest_run(store: Store) -> str:
    rows = store.query("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1")
    if not rows:
        raise StoreError(f"{store.path} holds no run yet")
    return rows[0][0]

