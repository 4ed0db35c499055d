"""Word alignments of the ``align`` silver route (``alignments``), keyed by content: the aligner's identity and both
token lists (``eat_core/distill/alignment.py`` makes the keys). Links are stored as Pharaoh text (``0-0 1-2``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eat_core.store.base import chunks


class AlignmentsStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``connect``, ``query``, ``_ensure_migrated`` and ``path``."""

    def get_alignments(self, keys: Sequence[str]) -> dict[str, str]:
        """``{key: pharaoh links}`` of the keys already aligned."""
        if not keys or not self.path.exists():
            return {}
        self._ensure_migrated()
        out: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(keys)), 500):
            out.update(dict(self.query(
                "SELECT a.key, a.links FROM alignments a JOIN (SELECT unnest(?::VARCHAR[]) AS key) w "
                "ON w.key = a.key", [chunk])))
        return out

    def put_alignments(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Rows of (key, aligner name, pharaoh links), in one transaction; a key already there is kept."""
        rows = list({key: (key, aligner, links) for key, aligner, links in rows}.values())
        if not rows:
            return
        keys, aligners, links = (list(c) for c in zip(*rows, strict=True))
        with self.connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO alignments (key, aligner, links) SELECT * FROM (SELECT "
                "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))", [keys, aligners, links])

    def count_alignments(self) -> int:
        if not self.path.exists():
            return 0
        self._ensure_migrated()
        return self.query("SELECT count(*) FROM alignments")[0][0]
