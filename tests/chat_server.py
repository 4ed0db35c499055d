"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests: a stand-in, not the real thing.

The served path is tested against a real inference server too: llama.cpp (``eat serve``, the ``llama_server``
fixture, ``tests/integration/test_llamacpp_server.py``) runs the smoke evaluation, is killed with SIGKILL mid-run
and serves a real LoRA. This stand-in stays for what a real server cannot be made to do on cue: answer HTTP 429 and
500 sequences (``faults``, ``fail_status``), die after exactly the n-th request (``kill_after``), come back on the
same port (``revive``), emulate a GPU server's latency and batch slots for the scale-out benchmark (``latency_s``,
``max_batch``), and answer with a scripted ``responder`` whose answers a test can predict.

It answers with a real model through ``TransformersBackend`` (the tiny Qwen2 built from config), or with a
``responder`` function for parsing tests. ``faults`` injects HTTP errors: a list of (status, headers) consumed one
per request before normal answers resume. It records every request body (minus headers) for assertions.

For many-endpoint tests and benchmarks (all optional, off by default):

* ``latency_s`` and ``max_batch``: a stand-in for a GPU server. At most ``max_batch`` requests are processed at
  once, each taking ``latency_s`` seconds; the rest queue (``max_batch=None``: no bound).
* ``fail_status``: while set, every request (chat and ``GET /v1/models``) is answered with this status.
* ``GET /v1/models`` answers 200 with the served model list (the pool's health check); ``probes`` counts calls.
* ``kill()`` stops listening (new connections are refused) and resets every request in flight without an answer;
  ``revive()`` listens again on the same port. ``kill_after=n``: the n-th chat request kills the server (and is
  reset itself), i.e. a server that dies mid-run.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from loopback import LoopbackServer

BACKLOG = 1024  # pending connections, as a real server (uvicorn: 2048) keeps


class ChatServer(LoopbackServer):
    def __init__(self, backend=None, responder=None, *, latency_s: float = 0.0, max_batch: int | None = None,
                 kill_after: int | None = None, model: str = "served") -> None:
        self.backend = backend
        self.responder = responder
        self.faults: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        self.auth_headers: list[str | None] = []
        self.lock = threading.Lock()
        self.latency_s = latency_s
        self.slots = threading.BoundedSemaphore(max_batch) if max_batch else None
        self.kill_after = kill_after
        self.fail_status: int | None = None
        self.killed = False
        self.probes = 0
        self.answered = 0  # chat requests answered with 200
        self.model = model
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802
                if server.killed:
                    return self._abort()
                with server.lock:
                    server.probes += 1
                if server.fail_status:
                    return self._send(server.fail_status, {"error": "injected"})
                if self.path != "/v1/models":
                    return self._send(404, {"error": "not found"})
                self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if server.killed:
                    return self._abort()
                with server.lock:
                    server.requests.append(body)
                    server.auth_headers.append(self.headers.get("Authorization"))
                    fault = server.faults.pop(0) if server.faults else None
                    dying = server.kill_after is not None and len(server.requests) >= server.kill_after
                if dying:
                    server.kill()
                    return self._abort()
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if server.fail_status:
                    return self._send(server.fail_status, {"error": "injected"})
                if fault:
                    return self._send(fault[0], {"error": "injected"}, fault[1])
                if server.latency_s or server.slots:
                    server.process_slot()
                    if server.killed:
                        return self._abort()
                text, prompt_tokens, completion_tokens, truncated = server.answer(body)
                with server.lock:
                    server.answered += 1
                self._send(200, {
                    "id": "cmpl-test", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "length" if truncated else "stop"}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
                })

            def _abort(self):
                """Close the connection with a reset and no answer, as a crashed server does."""
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._handler = Handler
        self._serve(Handler)
        self.httpd.socket.listen(BACKLOG)  # socketserver listens with a backlog of 5: bursts would be reset

    def process_slot(self) -> None:
        """Wait for one of ``max_batch`` slots, then take ``latency_s``: the latency model of a batching server."""
        if self.slots is None:
            time.sleep(self.latency_s)
            return
        with self.slots:
            time.sleep(self.latency_s)

    def kill(self) -> None:
        """Stop listening and reset the requests in flight; safe to call from a request handler thread."""
        with self.lock:
            if self.killed:
                return
            self.killed = True
        self.httpd.shutdown()
        self.httpd.server_close()

    def revive(self) -> None:
        """Listen again on the same port, answering normally."""
        port = self.httpd.server_address[1]
        with self.lock:
            self.kill_after = None
            self.killed = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        self.httpd.socket.listen(BACKLOG)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

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
