"""``eat serve``: llama.cpp's OpenAI-compatible server for a GGUF model (the ``llamacpp`` extra), in the foreground."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from eat_cli.app import friendly


@friendly
def serve(
    model: Annotated[str, typer.Option(help="a GGUF file, or a Qwen2 model directory / tiny:qwen2 (converted to "
                                            "an F32 GGUF once, cached)")] = ...,
    name: Annotated[str, typer.Option(help="the served model name (what --llm names in `eat run`)")] = ...,
    lora: Annotated[list[str], typer.Option(help="a LoRA adapter applied to every request: a GGUF LoRA file or a "
                                                 "PEFT adapter directory (converted); repeatable")] = None,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="0 takes a free port; the first line printed gives the URL")] = 8080,
    parallel: Annotated[int, typer.Option(help="requests decoded at once (llama.cpp slots); above 1, answers "
                                               "depend on what else is decoded (not batch-invariant)")] = 1,
    prompt_cache: Annotated[bool, typer.Option(help="reuse cached prompt prefixes: faster, but answers then depend "
                                                    "on earlier requests")] = False,
    ctx: Annotated[int, typer.Option(help="context length of each slot, in tokens")] = 4096,
    threads: Annotated[int, typer.Option(help="CPU threads (0: llama.cpp's default, every core); answers depend on "
                                              "it, so keep it fixed; 1 on a busy shared machine")] = 0,
) -> None:
    """Serve a GGUF model with llama.cpp until Ctrl-C or SIGTERM; prints `serving NAME at URL` once it listens.

    Then: eat run --llm-backend openai --base-url URL --llm NAME (with a LoRA: --adapter NAME=PATH keys the cache
    by the adapter's contents).
    """
    from eat_core.llm.llamacpp_server import (
        ServeOptions,
        check_lora_source,
        resolve_gguf,
        resolve_lora,
        start_server,
    )

    for item in lora or ():
        check_lora_source(item)  # every path before any conversion
    gguf = resolve_gguf(model)
    loras = tuple(resolve_lora(item) for item in lora or ())
    options = ServeOptions(name=name, host=host, port=port, parallel=parallel, prompt_cache=prompt_cache,
                           ctx_per_slot=ctx, threads=threads)
    server, url = start_server(gguf, options, loras)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"serving {name} at {url}", color=False)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    del server
