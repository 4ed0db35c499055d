"""Any OpenAI-compatible chat-completions endpoint: a ``vllm serve`` or llama.cpp server, or a hosted API.

All requests of a batch are sent concurrently (bounded by ``concurrency``) so that the server's continuous batching
and prefix caching do the work. The API key is read from an environment variable at request time and is never
stored, logged or part of a cache key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

from eat_core.errors import BackendError, ConfigError, ServiceUnavailable
from eat_core.llm.base import Chat, Completion, Decoding, LLMBackend

log = logging.getLogger(__name__)
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class OpenAIBackend(LLMBackend):
    name = "openai"

    def __init__(self, model: str, base_url: str, *, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16,
                 timeout_s: float = 120.0, max_retries: int = 5, backoff_s: float = 0.5,
                 max_backoff_s: float = 30.0, adapter: str | None = None, transport=None) -> None:
        super().__init__()
        if not base_url:
            raise ConfigError("the openai backend needs llm.base_url, e.g. http://127.0.0.1:8000/v1")
        self.model = adapter or model  # vLLM serves a LoRA adapter under its own model name
        self.base_model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.transport = transport
        self.retries = 0

    @classmethod
    def from_config(cls, config) -> OpenAIBackend:
        return cls(config.model, config.base_url or "", api_key_env=config.api_key_env,
                   concurrency=config.concurrency, timeout_s=config.timeout_s, max_retries=config.max_retries,
                   adapter=config.adapter)

    def identity(self) -> dict:
        return {"backend": self.name, "model": self.base_model, "served_as": self.model, "base_url": self.base_url}

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        return asyncio.run(self._generate_all(chats, decoding))

    async def _generate_all(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        import httpx

        semaphore = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport) as client:

            async def one(chat: Chat) -> Completion:
                async with semaphore:
                    return await self._request(client, chat, decoding)

            return list(await asyncio.gather(*(one(chat) for chat in chats)))

    async def _request(self, client, chat: Chat, decoding: Decoding) -> Completion:
        import httpx

        body = {"model": self.model, "messages": chat, "max_tokens": decoding.max_new_tokens,
                "temperature": decoding.temperature}
        if decoding.seed is not None:
            body["seed"] = decoding.seed
        url = f"{self.base_url}/chat/completions"
        last_error = ""
        for attempt in range(self.max_retries + 1):
            wait = min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            t0 = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=self._headers())
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return self._parse(response, time.perf_counter() - t0)
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in RETRY_STATUS:
                    raise BackendError(f"{url} refused the request ({last_error})")
                wait = retry_after_seconds(response.headers.get("retry-after")) or wait
            if attempt < self.max_retries:
                self.retries += 1
                log.warning("LLM request failed (%s); retry %d/%d in %.1fs", last_error, attempt + 1,
                            self.max_retries, wait)
                await asyncio.sleep(min(wait, self.max_backoff_s))
        raise ServiceUnavailable(f"{url}: giving up after {self.max_retries + 1} attempts ({last_error})")

    def _parse(self, response, latency: float) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"malformed chat-completions response ({exc.__class__.__name__}): "
                               f"{response.text[:200]!r}") from None
        usage = data.get("usage") or {}
        return Completion(text, usage.get("prompt_tokens"), usage.get("completion_tokens"), latency,
                          truncated=choice.get("finish_reason") == "length")
