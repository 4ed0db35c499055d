"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

It answers with a real model through ``TransformersBackend`` (the tiny Qwen2 built from config), or with a
``responder`` function for parsing tests. ``faults`` injects HTTP errors: a list of (status, headers) consumed one
per request before normal answers resume. It records every request body (minus headers) for assertions.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

from loopback import LoopbackServer


class ChatServer(LoopbackServer):
    def __init__(self, backend=None, responder=None) -> None:
        self.backend = backend
        self.responder = responder
        self.faults: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        self.auth_headers: list[str | None] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.auth_headers.append(self.headers.get("Authorization"))
                    fault = server.faults.pop(0) if server.faults else None
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if fault:
                    return self._send(fault[0], {"error": "injected"}, fault[1])
                text, prompt_tokens, completion_tokens, truncated = server.answer(body)
                self._send(200, {
                    "id": "cmpl-test", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "length" if truncated else "stop"}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
                })

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._serve(Handler)

    def answer(self, body):
        if self.responder:
            text = self.responder(body["messages"])
            return text, 10, len(text.split()), False
        from eat_core.llm.base import Decoding

        with self.lock:  # one generation at a time on the CPU model
            c = self.backend.generate([body["messages"]], Decoding(body["max_tokens"], body.get("temperature", 0.0),
                                                                   body.get("seed")))[0]
        return c.text, c.prompt_tokens, c.completion_tokens, c.truncated

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"
