"""EACL corpus building (``eat eacl``; ``eat_core/eacl``): harvested Wikipedia pages and judged pairs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime


class EaclStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``connect``, ``query`` and ``path``."""

    def eacl_page(self, lang: str, title: str) -> dict | None:
        """The stored page ``title`` of the ``lang`` Wikipedia (status, resolved_title, summary, langlinks parsed,
        fetched_at), or None when it was never fetched or the file does not exist yet."""
        if not self.path.exists():
            return None
        rows = self.query("SELECT status, resolved_title, summary, langlinks, fetched_at FROM eacl_pages "
                          "WHERE lang = ? AND title = ?", [lang, title])
        if not rows:
            return None
        status, resolved, summary, links, fetched_at = rows[0]
        return {"status": status, "resolved_title": resolved, "summary": summary,
                "langlinks": json.loads(links) if links else {}, "fetched_at": fetched_at}

    def put_eacl_page(self, lang: str, title: str, record: dict, fetched_at: datetime) -> None:
        """Store (or replace) one fetched page: ``record`` has status and, when found, pageid, revision,
        resolved_title, summary, langlinks."""
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO eacl_pages (lang, title, status, pageid, revision, resolved_title, summary, "
                "langlinks, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [lang, title, record["status"], record.get("pageid"), record.get("revision"),
                 record.get("resolved_title"), record.get("summary"),
                 json.dumps(record.get("langlinks") or {}, ensure_ascii=False), fetched_at])

    def eacl_found_pages(self) -> tuple[dict[tuple[str, str], tuple[str | None, str | None]], list[tuple[str, dict]]]:
        """The pages fetched with status ``ok``: ``{(lang, title): (resolved_title, summary)}`` of the non-English
        ones, and ``(title, langlinks)`` of the English ones, by title."""
        targets = {(lang, title): (resolved, summary) for lang, title, resolved, summary in self.query(
            "SELECT lang, title, resolved_title, summary FROM eacl_pages WHERE lang <> ? AND status = ?", ["en", "ok"])}
        english = [(title, json.loads(links or "{}")) for title, links in self.query(
            "SELECT title, langlinks FROM eacl_pages WHERE lang = ? AND status = ? ORDER BY title", ["en", "ok"])]
        return targets, english

    def eacl_languages(self) -> list[str]:
        """The languages other than English that pages were harvested in (unordered)."""
        return [r[0] for r in self.query("SELECT DISTINCT lang FROM eacl_pages WHERE lang <> ?", ["en"])]

    def replace_eacl_pairs(self, rows: Sequence[tuple]) -> None:
        """Store judged pairs ``(source, lang, eng_entity, tgt_entity, text, first_sentence, kept, reason)``,
        replacing every stored pair of each (source, language) present: a pair gone from the input must not
        linger."""
        with self.connect() as con:
            for source, lang in sorted({(r[0], r[1]) for r in rows}):
                con.execute("DELETE FROM eacl_pairs WHERE source = ? AND lang = ?", [source, lang])
            con.executemany(
                "INSERT OR REPLACE INTO eacl_pairs (source, lang, eng_entity, tgt_entity, text, first_sentence, "
                "kept, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [list(r) for r in rows])
