"""A real HTTP server speaking the Anthropic Messages API with scripted replies, for driving the real
Claude Code CLI offline. It records every request body; the main conversation (requests that carry tools)
is answered from a script of turns, side requests without tools (titles, summaries) with plain text."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A turn is a list of content blocks: {"type": "text", "text": …} or {"type": "tool_use", "name": …, "input": …}
Turn = list[dict[str, Any]]
Script = Callable[[dict[str, Any]], Turn]


def text(value: str) -> Turn:
    return [{"type": "text", "text": value}]


def tool(name: str, arguments: dict[str, Any]) -> Turn:
    return [{"type": "tool_use", "name": name, "input": arguments}]


def is_main(body: dict[str, Any]) -> bool:
    """The session's own conversation (it offers tools); titles, summaries and other side requests do not."""
    return bool(body.get("tools"))


def tool_names(body: dict[str, Any]) -> list[str]:
    return [str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)]


def flatten(value: Any) -> str:
    """Every string inside a request part (system prompt, messages), joined, for searching."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(flatten(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(flatten(v) for v in value.values())
    return ""


def tool_results(body: dict[str, Any]) -> list[str]:
    """The text of every tool_result block the request carries, in order."""
    out = []
    for m in body.get("messages") or []:
        content = m.get("content") if isinstance(m, dict) else None
        for b in content if isinstance(content, list) else []:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                out.append(flatten(b.get("content")))
    return out


class Sequence:
    """Answer the main conversation's requests with these turns in order (then a closing text)."""

    def __init__(self, *turns: Turn, done: str = "Done.") -> None:
        self.turns, self.done, self.lock = list(turns), done, threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Turn:
        with self.lock:
            return self.turns.pop(0) if self.turns else text(self.done)


class ScriptedAnthropic:
    def __init__(self, script: Script, side_reply: str = "Memory test session") -> None:
        self.script, self.side_reply = script, side_reply
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 — model lists and anything else: nothing here
                with outer.lock:
                    outer.paths.append("GET " + self.path)
                if self.path.split("?")[0].rstrip("/").endswith("/v1/models"):
                    self._json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
                else:
                    self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "none"}})

            def do_HEAD(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                path = self.path.split("?")[0]
                with outer.lock:
                    outer.paths.append("POST " + self.path)
                if path.endswith("/count_tokens"):
                    self._json(200, {"input_tokens": max(1, len(raw) // 4)})
                    return
                if not path.endswith("/v1/messages"):
                    self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                "message": "body is not JSON"}})
                    return
                with outer.lock:
                    outer.requests.append(body)
                blocks = outer.script(body) if is_main(body) else text(outer.side_reply)
                blocks = [dict(b, id=b.get("id") or "toolu_" + uuid.uuid4().hex[:20]) if b["type"] == "tool_use"
                          else b for b in blocks]
                stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
                message = {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
                           "model": body.get("model", "claude-test"), "content": blocks, "stop_reason": stop,
                           "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}
                if body.get("stream"):
                    self._stream(message)
                else:
                    self._json(200, message)

            def _stream(self, message: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()

                def event(name: str, data: dict[str, Any]) -> None:
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

                start = dict(message, content=[], stop_reason=None,
                             usage={"input_tokens": 10, "output_tokens": 1})
                event("message_start", {"type": "message_start", "message": start})
                for i, b in enumerate(message["content"]):
                    if b["type"] == "text":
                        event("content_block_start", {"type": "content_block_start", "index": i,
                                                      "content_block": {"type": "text", "text": ""}})
                        event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                      "delta": {"type": "text_delta", "text": b["text"]}})
                    else:
                        event("content_block_start", {"type": "content_block_start", "index": i,
                                                      "content_block": {"type": "tool_use", "id": b["id"],
                                                                        "name": b["name"], "input": {}}})
                        event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                      "delta": {"type": "input_json_delta",
                                                                "partial_json": json.dumps(b["input"])}})
                    event("content_block_stop", {"type": "content_block_stop", "index": i})
                event("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                        "usage": {"output_tokens": 5}})
                event("message_stop", {"type": "message_stop"})
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def main_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if is_main(r)]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
