"""A MediaWiki-API-compatible HTTP server on 127.0.0.1 for harvester tests.

Serves ``/<lang>/w/api.php?action=query&prop=info|extracts|langlinks|categories&titles=...&redirects=1&format=json``
from an in-memory wiki, the way the real API answers (``pages`` keyed by page id, ``-1`` for a missing page,
``redirects`` at the query level, ``langlinks`` entries with ``lang``/``url``/``*``). ``faults`` injects, one per
request: ``(status, headers)``, ``("slow", seconds)`` or ``("malformed",)``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from loopback import LoopbackServer


class MediaWikiServer(LoopbackServer):
    def __init__(self, wiki: dict[str, dict[str, dict]]) -> None:
        """``wiki[lang][title] = {"extract": str, "langlinks": {lang: title}, "categories": [..], "redirect": t}``."""
        self.wiki = wiki
        self.faults: list[tuple] = []
        self.requests: list[tuple[str, dict]] = []
        self.user_agents: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                lang = url.path.strip("/").split("/")[0]
                with server.lock:
                    server.requests.append((lang, params))
                    server.user_agents.add(self.headers.get("User-Agent", ""))
                    fault = server.faults.pop(0) if server.faults else None
                if fault and fault[0] == "slow":
                    time.sleep(fault[1])
                elif fault and fault[0] == "malformed":
                    return self._send(200, b"{not json", {})
                elif fault:
                    return self._send(fault[0], b'{"error": "injected"}', fault[1])
                body = json.dumps(server.answer(lang, params)).encode()
                self._send(200, body, {})

            def _send(self, status, body, headers):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._serve(Handler)

    def answer(self, lang: str, params: dict) -> dict:
        pages = self.wiki.get(lang, {})
        title = params.get("titles", "")
        query: dict = {}
        if params.get("redirects") and title in pages and "redirect" in pages[title]:
            query["redirects"] = [{"from": title, "to": pages[title]["redirect"]}]
            title = pages[title]["redirect"]
        page = pages.get(title)
        if page is None or "redirect" in page:
            query["pages"] = {"-1": {"ns": 0, "title": title, "missing": ""}}
            return {"batchcomplete": "", "query": query}
        pageid = page.get("pageid", abs(hash((lang, title))) % 10**8)
        entry = {"pageid": pageid, "ns": 0, "title": title}
        prop = params.get("prop")
        if prop == "info":
            entry.update(lastrevid=page.get("revision", 1000 + pageid % 1000), length=len(page.get("extract", "")),
                         fullurl=f"https://{lang}.wikipedia.org/wiki/{title}")
        elif prop == "extracts":
            entry["extract"] = page.get("extract", "")
        elif prop == "langlinks":
            entry["langlinks"] = [{"lang": k, "url": f"https://{k}.wikipedia.org/wiki/{v}", "*": v}
                                  for k, v in page.get("langlinks", {}).items()]
        elif prop == "categories":
            entry["categories"] = [{"ns": 14, "title": f"Category:{c}"} for c in page.get("categories", [])]
        query["pages"] = {str(pageid): entry}
        return {"batchcomplete": "", "query": query}

    @property
    def endpoint(self) -> str:
        return self.origin
