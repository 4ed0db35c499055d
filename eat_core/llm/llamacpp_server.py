"""llama.cpp's OpenAI-compatible server (the ``xllamacpp`` wheel) for a GGUF model, with optional LoRA adapters.

``eat serve --model M --name NAME`` runs it in the foreground; the ``openai`` backend then talks to it like any
other server (``--llm-backend openai --base-url http://127.0.0.1:PORT/v1 --llm NAME``). ``M`` is a GGUF file, or
a Hugging Face Qwen2 directory or ``tiny:qwen2``, converted once to an F32 GGUF in the cache
(``eat_core.weights.gguf``); a LoRA is a GGUF LoRA file or a PEFT adapter directory, converted likewise. The server
applies the chat template stored in the GGUF, so chats are formatted as ``apply_chat_template`` formats them.
By default it decodes one request at a time without a prompt cache, so that answers are reproducible
(:class:`ServeOptions`).

``xllamacpp`` and ``gguf`` are the optional ``llamacpp`` extra, imported only here and only when a server starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eat_core.errors import ConfigError
from eat_core.hashing import directory_fingerprint
from eat_core.weights.gguf import convert_lora_to_gguf, convert_qwen2_to_gguf
from eat_core.weights.resolve import resolve_model_path
from eat_core.weights.tiny import default_cache_dir


@dataclass(frozen=True)
class ServeOptions:
    """How to serve: names, address, slots. ``port=0`` takes a free port (the server reports which).

    The defaults make every answer a function of its own request (and seed) only, which the LLM-call cache assumes:
    llama.cpp is not batch-invariant, so several slots decoding together (``parallel`` > 1) or a prompt reusing
    another's cached prefix (``prompt_cache``) change logits in the last bits and, now and then, a sampled or
    greedy token (measured on the smoke profile: 2 of 24 sentences differed between two identical runs with 4
    slots, 1 of 24 with the prompt cache, 0 with neither). Turn them on for throughput where that is acceptable.
    """

    name: str
    host: str = "127.0.0.1"
    port: int = 0
    parallel: int = 1
    prompt_cache: bool = False
    ctx_per_slot: int = 4096
    threads: int = 0  # 0: llama.cpp's default (the cores it sees)


def check_model_source(model: str, option: str = "--model") -> Path:
    """The GGUF file or model directory ``model`` names (``tiny:qwen2`` is built); ConfigError naming ``option``."""
    path = Path(model).expanduser()
    if model.endswith(".gguf"):
        if not path.is_file():
            raise ConfigError(f"{option}: no such GGUF file {model!r}")
        return path
    if model.startswith("tiny:"):
        path = Path(resolve_model_path(model))
    if not (path / "config.json").is_file():
        raise ConfigError(f"{option}: {model!r} is neither a GGUF file nor a Hugging Face model directory")
    return path


def check_lora_source(adapter: str, option: str = "--lora") -> Path:
    """The GGUF LoRA file or PEFT adapter directory ``adapter`` names; ConfigError naming ``option``."""
    path = Path(adapter).expanduser()
    if adapter.endswith(".gguf"):
        if not path.is_file():
            raise ConfigError(f"{option}: no such GGUF LoRA file {adapter!r}")
    elif not (path / "adapter_config.json").is_file():
        raise ConfigError(f"{option}: {adapter!r} is neither a GGUF LoRA file nor a PEFT adapter directory")
    return path


def resolve_gguf(model: str, *, option: str = "--model", cache_dir: Path | None = None) -> Path:
    """A GGUF file for ``model``: the file itself, or a Qwen2 directory / ``tiny:qwen2`` converted once (cached by
    the directory's content fingerprint)."""
    path = check_model_source(model, option)
    return path if path.suffix == ".gguf" else _converted(path, "model", cache_dir)


def resolve_lora(adapter: str, *, option: str = "--lora", cache_dir: Path | None = None) -> Path:
    """A GGUF LoRA file for ``adapter``: the file itself, or a PEFT adapter directory converted (cached)."""
    path = check_lora_source(adapter, option)
    return path if path.suffix == ".gguf" else _converted(path, "lora", cache_dir)


def _converted(source: Path, kind: str, cache_dir: Path | None) -> Path:
    out = (cache_dir or default_cache_dir() / "gguf") / f"{source.name}-{kind}-{directory_fingerprint(source)}.gguf"
    if out.is_file():
        return out
    return convert_lora_to_gguf(source, out) if kind == "lora" else convert_qwen2_to_gguf(source, out)


def start_server(model: Path, options: ServeOptions, loras: tuple[Path, ...] = ()):
    """Start llama.cpp's server in this process (its HTTP and decoding threads run in the background); returns
    (server, base_url ending in /v1). The server stops when the object is garbage-collected or the process ends."""
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError("eat serve needs the llamacpp extra: pip install 'eat-ner[llamacpp]'") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {options.name}
    params.hostnames = [options.host]
    params.port = options.port
    params.n_parallel = options.parallel
    params.n_ctx = options.ctx_per_slot * options.parallel
    if options.threads:
        params.cpuparams.n_threads = options.threads
        params.cpuparams_batch.n_threads = options.threads
    if not options.prompt_cache:
        params.cache_prompt = False
        params.cache_idle_slots = False
        params.cache_ram_mib = 0
    params.endpoint_metrics = True  # GET /metrics: token counters, for checking recorded usage
    params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(path), 1.0) for path in loras]
    params.verbosity = int(os.environ.get("EAT_LLAMACPP_VERBOSITY", "1"))
    server = xllamacpp.Server(params)
    return server, f"{server.listening_address}/v1"
