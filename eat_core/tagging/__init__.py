"""``eat tag``: tag any corpus (JSONL, CoNLL columns or plain text) with any method, resumably, in bounded memory.

* ``tokenize``: WikiANN-style tokens with character offsets (one per character for zh/ja).
* ``readers``: records with offsets, a one-pass scan (fingerprint, validation, shard boundaries), shard reads.
* ``request``: the ``TagRequest`` that ``eat tag`` and the ``tag_corpus`` flow take, validated before models load.
* ``runner``: plan, one shard (stored atomically in DuckDB), the plain resumable loop.
* ``export``: entities with character offsets; JSONL and CoNLL/IOB2 written in input order as shards finish.
"""
