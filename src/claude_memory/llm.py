"""The one place the OpenAI-compatible client (Ollama by default) is built, and the parsing of its replies."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import openai

from .errors import Unavailable

MAX_ITEM_CHARS = 2000
MAX_ITEM_TAGS = 8
MAX_TAG_CHARS = 50
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


class BadOutput(Exception):
    """The model answered, but not with a valid list of memories (counts as a failure)."""


def prompt(name: str) -> str:
    return resources.files("claude_memory").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")


class LLM:
    def __init__(self, base_url: str, model: str, timeout: float = 120.0) -> None:
        self.model = model
        self.client = openai.OpenAI(base_url=base_url, api_key="ollama", timeout=timeout, max_retries=0)
        self._json_mode = True

    def complete(self, system: str, user: str) -> str:
        """The reply text. Down (refused, DNS) → Unavailable; timeouts and HTTP errors → BadOutput."""
        messages: list[Any] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        try:
            try:
                if self._json_mode:
                    reply = self.client.chat.completions.create(
                        model=self.model, messages=messages, temperature=0.2,
                        response_format={"type": "json_object"})
                else:
                    reply = self.client.chat.completions.create(model=self.model, messages=messages,
                                                                temperature=0.2)
            except openai.BadRequestError:
                if not self._json_mode:
                    raise
                self._json_mode = False  # a server without JSON mode: ask plainly, parse leniently
                reply = self.client.chat.completions.create(model=self.model, messages=messages, temperature=0.2)
        except openai.APITimeoutError as exc:
            raise BadOutput(f"no reply within {self.client.timeout} s") from exc
        except openai.APIConnectionError as exc:
            raise Unavailable(f"the LLM at {self.client.base_url} is unreachable ({exc.__cause__ or exc});"
                              " start it (ollama serve) or set OLLAMA_URL") from exc
        except openai.APIStatusError as exc:
            raise BadOutput(f"HTTP {exc.status_code} from the LLM") from exc
        if not reply.choices:
            raise BadOutput("a reply without choices")
        choice = reply.choices[0]
        if choice.finish_reason == "length":
            raise BadOutput("the reply was cut off (length)")
        return choice.message.content or ""


def parse_items(text: str) -> list[dict[str, Any]]:
    """The validated `[{content, tags}]` in a reply: bare JSON, fenced JSON or JSON inside prose."""
    data = _find_json(text)
    if isinstance(data, dict):
        data = next((data[k] for k in ("memories", "items", "results") if isinstance(data.get(k), list)), None)
        if data is None:
            raise BadOutput("a JSON object without a `memories` list")
    if not isinstance(data, list):
        raise BadOutput("not a JSON list of memories")
    items = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise BadOutput(f"item {i} has no string `content`")
        content = item["content"].strip()
        if not content or len(content) > MAX_ITEM_CHARS:
            raise BadOutput(f"item {i}: content is empty or longer than {MAX_ITEM_CHARS} characters")
        tags = item.get("tags", [])
        if not isinstance(tags, list) or len(tags) > MAX_ITEM_TAGS or not all(
                isinstance(t, str) and 0 < len(t.strip()) <= MAX_TAG_CHARS for t in tags):
            raise BadOutput(f"item {i}: tags must be at most {MAX_ITEM_TAGS} short strings")
        items.append({"content": content, "tags": [t.strip() for t in tags]})
    return items


def _find_json(text: str) -> Any:
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for cand in candidates:
        cand = cand.strip()
        try:
            return json.loads(cand)
        except (ValueError, RecursionError):
            pass
        # only where the reply's JSON begins (its first bracket or brace): a value found deeper inside a
        # cut-off reply (an item, an empty tags list) must not pass for the answer
        starts = sorted(i for i in (cand.find("["), cand.find("{")) if i >= 0)
        for start in starts:
            try:
                value, _ = decoder.raw_decode(cand, start)
            except ValueError:
                continue
            if isinstance(value, list) or (isinstance(value, dict) and any(
                    isinstance(value.get(k), list) for k in ("memories", "items", "results"))):
                return value
    raise BadOutput("no complete JSON in the reply (malformed or cut off)")
