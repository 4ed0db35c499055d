"""What an OpenAI-compatible server says it serves: model names, and the files of the LoRA adapters it applies.

Two questions the ``openai`` backend asks before a run:

* Does the server serve the named model? ``GET <base>/models`` lists ids (and llama.cpp's aliases). A server that
  answers with a list lacking the name is a user error (``--llm`` or ``--adapter`` names something else); a server
  that does not answer is not checked here (it may come up later; the requests' retries and failover handle it).
* Which adapter weights answer? A served LoRA is keyed by its *contents*, so one retrained under the same name gets
  new calls. ``--adapter NAME=PATH`` says where its files are (a PEFT directory or a GGUF LoRA file). With
  ``--adapter NAME`` alone the server is asked: vLLM lists a LoRA module with its ``root`` path and a ``parent``;
  llama.cpp lists the adapters it applies at ``GET /lora-adapters``. A path readable here is fingerprinted; else the
  adapter is keyed by name (``served:NAME``), as a client that cannot read the files can do no better, and a warning
  says how to key it by contents.

Contract, by example::

    parse_served_adapter("eacl=runs/ft/adapter")   -> ("eacl", "runs/ft/adapter")
    parse_served_adapter("eacl")                   -> ("eacl", None)
    served_adapter_fingerprint("eacl=runs/ft/adapter", [...]) -> "3f2a9c0d51e4b7a8"  (directory_fingerprint)
    served_adapter_fingerprint("eacl", ["http://gpu1:8000/v1"]) -> "3f2a..." or "served:eacl"
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from eat_core.errors import ConfigError
from eat_core.hashing import content_hash, directory_fingerprint

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 5.0


def parse_served_adapter(value: str) -> tuple[str, str | None]:
    """``NAME=PATH`` -> (NAME, PATH); ``NAME`` -> (NAME, None). The name is what requests ask the server for."""
    name, sep, path = value.partition("=")
    if not sep:
        return value.strip(), None
    if not name.strip() or not path.strip():
        raise ConfigError(f"--adapter: {value!r}: give NAME=PATH (the served name and the adapter's files) or NAME")
    return name.strip(), path.strip()


def _get_json(url: str, timeout_s: float) -> object | None:
    """The JSON a GET answers with 200, else None (unreachable, another status, not JSON)."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout_s)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def served_model_entries(base_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> list[dict] | None:
    """The ``data`` entries of ``GET <base>/models``; None when the server does not answer with a model list."""
    listing = _get_json(f"{base_url}/models", timeout_s)
    data = listing.get("data") if isinstance(listing, dict) else None
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else None


def entry_names(entry: dict) -> set[str]:
    """An entry's id and (llama.cpp) aliases."""
    aliases = entry.get("aliases") if isinstance(entry.get("aliases"), list) else []
    return {str(n) for n in [entry.get("id"), *aliases] if n}


def check_served(base_urls: Sequence[str], name: str, *, option: str = "--llm",
                 timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """ConfigError when a server answers ``/models`` without ``name``; servers that do not answer are skipped."""
    for url in base_urls:
        entries = served_model_entries(url, timeout_s)
        if entries is None:
            continue
        names = sorted(set().union(*(entry_names(e) for e in entries))) if entries else []
        if name not in names:
            served = ", ".join(repr(n) for n in names) or "nothing"
            raise ConfigError(f"{option}: the server at {url} does not serve {name!r} (it serves {served}; "
                              "GET /models)")


def reported_adapter_paths(base_url: str, name: str, timeout_s: float = PROBE_TIMEOUT_S) -> list[str]:
    """Where the server says the adapter served as ``name`` lives: vLLM's ``root`` of a LoRA module, else the
    adapters llama.cpp applies (``GET /lora-adapters``, scale not 0). Empty when it says nothing."""
    for entry in served_model_entries(base_url, timeout_s) or []:
        if name in entry_names(entry) and entry.get("parent") and entry.get("root"):
            return [str(entry["root"])]
    adapters = _get_json(f"{base_url.removesuffix('/v1')}/lora-adapters", timeout_s)
    if isinstance(adapters, list):
        return [str(a["path"]) for a in adapters if isinstance(a, dict) and a.get("path") and a.get("scale", 1)]
    return []


def served_adapter_fingerprint(adapter: str, base_urls: Sequence[str]) -> str:
    """The adapter's content fingerprint (``--adapter NAME=PATH``, or a path the server reports that is readable
    here); otherwise ``served:NAME`` with a warning."""
    name, path = parse_served_adapter(adapter)
    if path is not None:
        files = Path(path).expanduser()
        if not files.exists():
            raise ConfigError(f"--adapter: {path!r} (the files of served adapter {name!r}) does not exist")
        return directory_fingerprint(files)
    for url in base_urls:
        paths = reported_adapter_paths(url, name)
        if paths and all(Path(p).exists() for p in paths):
            prints = [directory_fingerprint(p) for p in paths]
            return prints[0] if len(prints) == 1 else content_hash(prints)[:16]
        if paths:
            break
    log.warning("served adapter %r is keyed by its name only: an adapter retrained under that name would be "
                "answered from the cache; give --adapter %s=PATH (its files) to key it by contents", name, name)
    return f"served:{name}"
