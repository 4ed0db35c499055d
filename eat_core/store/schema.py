"""The workspace schema: numbered migrations, each applied once in its own transaction (``StoreBase.migrate``).

Add a concern's tables as a new migration at the end; never edit a migration that has shipped.
"""

from __future__ import annotations

SCHEMA_VERSION = 9

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE llm_cache (
            key VARCHAR PRIMARY KEY,
            model VARCHAR NOT NULL,
            adapter VARCHAR,
            request JSON NOT NULL,
            output VARCHAR NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_s DOUBLE,
            created_at TIMESTAMP DEFAULT current_timestamp)""",
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            profile VARCHAR,
            config JSON NOT NULL,
            status VARCHAR NOT NULL,
            created_at TIMESTAMP DEFAULT current_timestamp,
            finished_at TIMESTAMP)""",
        """CREATE TABLE shards (
            run_id VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            n_sentences INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR,
            cache_hits INTEGER DEFAULT 0,
            cache_misses INTEGER DEFAULT 0,
            seconds DOUBLE,
            updated_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (run_id, lang, shard_index))""",
        """CREATE TABLE predictions (
            run_id VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            sentence_id VARCHAR NOT NULL,
            tokens JSON NOT NULL,
            gold JSON,
            pred JSON NOT NULL,
            english VARCHAR,
            roundtrip VARCHAR,
            entities JSON,
            placements JSON,
            failures JSON,
            transcript JSON,
            PRIMARY KEY (run_id, sentence_id))""",
        """CREATE TABLE metrics (
            run_id VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            value DOUBLE,
            signature VARCHAR NOT NULL,
            details JSON,
            created_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (run_id, lang, metric))""",
        """CREATE TABLE eacl_pages (
            lang VARCHAR NOT NULL,
            title VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            pageid BIGINT,
            revision BIGINT,
            resolved_title VARCHAR,
            summary VARCHAR,
            langlinks JSON,
            fetched_at TIMESTAMP NOT NULL,
            PRIMARY KEY (lang, title))""",
        """CREATE TABLE eacl_pairs (
            source VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            eng_entity VARCHAR NOT NULL,
            tgt_entity VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            first_sentence VARCHAR,
            kept BOOLEAN NOT NULL,
            reason VARCHAR,
            PRIMARY KEY (source, lang, eng_entity, tgt_entity))""",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS prefect_cache (
            path VARCHAR PRIMARY KEY,
            content BLOB NOT NULL,
            written_at TIMESTAMP DEFAULT current_timestamp)""",
    ],
    3: [
        # why a run ended failed or interrupted (one line); NULL while running or when done
        "ALTER TABLE runs ADD COLUMN IF NOT EXISTS status_reason VARCHAR",
        # a cached answer carries everything the fresh one had, including whether it hit max_new_tokens
        "ALTER TABLE llm_cache ADD COLUMN IF NOT EXISTS truncated BOOLEAN",
        # what a run was made from: every input (prompts, models, data), its path and its content fingerprint
        """CREATE TABLE IF NOT EXISTS run_inputs (
            run_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            path VARCHAR,
            fingerprint VARCHAR NOT NULL,
            PRIMARY KEY (run_id, name))""",
    ],
    4: [
        # what a shard cost: prompt and generated tokens of the LLM calls it answered (fresh or from the cache)
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS prompt_tokens BIGINT",
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS completion_tokens BIGINT",
    ],
    5: [
        # `eat tag`: a tag run is keyed by content (configuration, the input file's bytes, model and prompt
        # fingerprints); its shards and one row per input record (eat_core/tagging)
        """CREATE TABLE IF NOT EXISTS tag_runs (
            tag_run_id VARCHAR PRIMARY KEY,
            input_path VARCHAR NOT NULL,
            input_fingerprint VARCHAR NOT NULL,
            input_format VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            config JSON NOT NULL,
            inputs JSON,
            n_records BIGINT,
            n_shards INTEGER,
            status VARCHAR NOT NULL,
            status_reason VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp,
            finished_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS tag_shards (
            tag_run_id VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            first_record BIGINT NOT NULL,
            n_records INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR,
            n_tagged INTEGER,
            n_skipped INTEGER,
            n_entities INTEGER,
            cache_hits INTEGER DEFAULT 0,
            cache_misses INTEGER DEFAULT 0,
            seconds DOUBLE,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            updated_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (tag_run_id, shard_index))""",
        """CREATE TABLE IF NOT EXISTS tag_predictions (
            tag_run_id VARCHAR NOT NULL,
            record_index BIGINT NOT NULL,
            shard_index INTEGER NOT NULL,
            record_id VARCHAR NOT NULL,
            line BIGINT,
            text VARCHAR NOT NULL,
            tokens JSON NOT NULL,
            offsets JSON NOT NULL,
            tags JSON NOT NULL,
            entities JSON NOT NULL,
            skipped VARCHAR,
            transcript JSON,
            failures JSON,
            PRIMARY KEY (tag_run_id, record_index))""",
    ],
    6: [
        # silver training sets (eat_core/distill): one row per set, keyed by content (route, teacher run or input
        # fingerprints, filter settings); its sentences kept or dropped with the reason; projection shards done;
        # students trained on a set and the evaluation run that scored each
        """CREATE TABLE IF NOT EXISTS silver_sets (
            silver_id VARCHAR PRIMARY KEY,
            route VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            teacher_run VARCHAR,
            signature VARCHAR NOT NULL,
            config JSON NOT NULL,
            status VARCHAR NOT NULL,
            kept INTEGER,
            dropped INTEGER,
            reasons JSON,
            export_dir VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp,
            finished_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS silver_sentences (
            silver_id VARCHAR NOT NULL,
            sentence_id VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            position INTEGER NOT NULL,
            part VARCHAR,
            tokens JSON NOT NULL,
            tags JSON,
            kept BOOLEAN NOT NULL,
            reason VARCHAR,
            source VARCHAR NOT NULL,
            details JSON,
            PRIMARY KEY (silver_id, sentence_id))""",
        """CREATE TABLE IF NOT EXISTS silver_shards (
            silver_id VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            n_sentences INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            updated_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (silver_id, shard_index))""",
        """CREATE TABLE IF NOT EXISTS students (
            student_key VARCHAR PRIMARY KEY,
            silver_id VARCHAR NOT NULL,
            route VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            round INTEGER NOT NULL,
            model_dir VARCHAR NOT NULL,
            eval_run VARCHAR,
            manifest JSON,
            updated_at TIMESTAMP DEFAULT current_timestamp)""",
    ],
    7: [
        # which cached LLM calls a shard of given sentences used: shipped to a remote worker that recomputes it
        """CREATE TABLE IF NOT EXISTS shard_calls (
            lang VARCHAR NOT NULL,
            content VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            PRIMARY KEY (lang, content, key))""",
        # which process computed a shard (host:pid): the flow process, or a Dask worker
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS worker VARCHAR",
    ],
    8: [
        # word alignments of the align silver route, keyed by content (aligner identity and both token lists):
        # a re-run reuses them instead of aligning again (eflomal samples, so a recomputation could differ)
        """CREATE TABLE IF NOT EXISTS alignments (
            key VARCHAR PRIMARY KEY,
            aligner VARCHAR NOT NULL,
            links VARCHAR NOT NULL,
            created_at TIMESTAMP DEFAULT current_timestamp)""",
        # what building a silver shard cost in LLM calls and tokens (projection routes; NULL for older rows)
        "ALTER TABLE silver_shards ADD COLUMN IF NOT EXISTS llm_calls BIGINT",
        "ALTER TABLE silver_shards ADD COLUMN IF NOT EXISTS prompt_tokens BIGINT",
        "ALTER TABLE silver_shards ADD COLUMN IF NOT EXISTS completion_tokens BIGINT",
    ],
    9: [
        # how many times a finished shard was served whole again (a cached re-run): reuse, counted beside the cost
        # of the computation that made it (cache_hits/cache_misses/seconds stay as computed)
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS reuses INTEGER DEFAULT 0",
    ],
}
