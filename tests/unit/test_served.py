"""``--adapter`` for a served model: NAME=PATH (keyed by the files) or NAME (the server is asked)."""

from __future__ import annotations

import pytest

from eat_core.errors import ConfigError
from eat_core.llm.served import entry_names, parse_served_adapter


@pytest.mark.parametrize(("value", "expected"), [
    ("eacl", ("eacl", None)),
    ("eacl=runs/ft/adapter", ("eacl", "runs/ft/adapter")),
    (" eacl = /a/b=c ", ("eacl", "/a/b=c")),  # only the first '=' separates
])
def test_parse_served_adapter(value, expected):
    assert parse_served_adapter(value) == expected


@pytest.mark.parametrize("value", ["=runs/x", "eacl=", " = "])
def test_a_half_given_served_adapter_is_refused_naming_the_option(value):
    with pytest.raises(ConfigError, match="^--adapter: .*NAME=PATH"):
        parse_served_adapter(value)


def test_entry_names_are_the_id_and_llamacpp_aliases():
    assert entry_names({"id": "tiny", "aliases": ["tiny", "t"]}) == {"tiny", "t"}
    assert entry_names({"id": "eacl", "root": "/x", "parent": "base"}) == {"eacl"}
