"""Content hashes (eat_core/hashing.py): every cache key and run id depends on them."""

from __future__ import annotations

import os

import pytest

import eat_core.hashing as hashing
from eat_core.hashing import canonical_json, content_hash, directory_fingerprint


def test_canonical_json_ignores_key_order_and_whitespace_but_not_values():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": "1"}) != content_hash({"a": 1.0, "x": None})
    assert content_hash([1, 2]) != content_hash([2, 1])
    assert len(content_hash("x")) == 64


def test_canonical_json_writes_other_objects_as_text():
    from pathlib import Path

    assert canonical_json({"p": Path("/a/b")}) == '{"p":"/a/b"}'


def _model(root, **files: bytes):
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def test_directory_fingerprint_changes_with_content_name_and_new_files_not_hidden_ones(tmp_path):
    model = _model(tmp_path / "m", **{"config.json": b"{}", "weights.bin": b"\x01" * 100})
    first = directory_fingerprint(model)
    assert first == directory_fingerprint(_model(tmp_path / "copy", **{"config.json": b"{}",
                                                                       "weights.bin": b"\x01" * 100}))
    (model / ".lock").write_text("x")  # hidden files (locks, editor droppings) are not weights
    assert directory_fingerprint(model) == first
    (model / "weights.bin").write_bytes(b"\x01" * 99 + b"\x02")
    changed = directory_fingerprint(model)
    assert changed != first
    (model / "tokenizer.json").write_text("{}")
    assert directory_fingerprint(model) not in (first, changed)
    os.rename(model / "tokenizer.json", model / "vocab.json")
    assert directory_fingerprint(model) not in (first, changed)


def test_large_files_are_read_at_most_two_samples_each_and_still_change(tmp_path, monkeypatch):
    """A weights file over two samples is hashed by size and both ends: a change at either end, or a new size,
    changes the fingerprint; reads stay bounded whatever the file size."""
    monkeypatch.setattr(hashing, "_SAMPLE", 64)
    size = 64 * 10
    model = _model(tmp_path / "m", **{"weights.bin": bytes(size)})
    reads: list[int] = []
    real_open = type(model).open

    def counting_open(self, *args, **kwargs):
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read

        def read(n=-1):
            data = real_read(n)
            reads.append(len(data))
            return data

        handle.read = read
        return handle

    monkeypatch.setattr(type(model), "open", counting_open)
    first = directory_fingerprint(model)
    assert sum(reads) == 2 * 64  # not the whole 640 bytes
    for offset in (0, size - 1):
        data = bytearray(size)
        data[offset] = 1
        (model / "weights.bin").write_bytes(bytes(data))
        assert directory_fingerprint(model) != first, offset
    (model / "weights.bin").write_bytes(bytes(size + 1))
    assert directory_fingerprint(model) != first
    # a change in the middle of a large file is, by design, not read
    data = bytearray(size)
    data[size // 2] = 1
    (model / "weights.bin").write_bytes(bytes(data))
    assert directory_fingerprint(model) == first


@pytest.mark.parametrize("size", [1, 65, 128])
def test_files_up_to_two_samples_are_hashed_whole(tmp_path, monkeypatch, size):
    monkeypatch.setattr(hashing, "_SAMPLE", 64)
    model = _model(tmp_path / "m", **{"w.bin": bytes(size)})
    first = directory_fingerprint(model)
    data = bytearray(size)
    data[size // 2] = 1
    (model / "w.bin").write_bytes(bytes(data))
    assert directory_fingerprint(model) != first
