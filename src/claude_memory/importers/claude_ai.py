"""claude.ai exports (conversations.json): the old text-only shape and the newer `content[]` blocks with
`parent_message_uuid` branches. Pure: file → sessions and messages.

Every message is archived; the branch the conversation currently follows (from `current_leaf_message_uuid`,
else the newest message) keeps kind `text`, other branches are archived as kind `branch`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import model as k
from .claude_code import as_str, ident, parse_time
from .model import FileResult, Message, Session

ROOT_PARENT = "00000000-0000-4000-8000-000000000000"
ROLES = {"human": "user", "user": "user", "assistant": "assistant"}


def _blocks(msg: dict[str, Any]) -> tuple[list[str], list[str], list[dict[str, Any]], list[str]]:
    """(prose, rendered non-prose, structured blocks, kinds) of one chat message."""
    prose: list[str] = []
    rendered: list[str] = []
    blocks: list[dict[str, Any]] = []
    kinds: list[str] = []
    content = msg.get("content")
    if isinstance(content, list) and content:
        for b in content:
            if not isinstance(b, dict):
                continue
            t = b.get("type")
            if t == "text" and isinstance(b.get("text"), str):
                if b["text"].strip():
                    prose.append(b["text"])
            elif t == "thinking":
                thought = as_str(b.get("thinking"))
                blocks.append({"type": t, "thinking": thought})
                rendered.append(thought)
                kinds.append(k.THINKING)
            elif t == "tool_use":
                blocks.append({"type": t, "id": b.get("id"), "name": b.get("name"), "input": b.get("input")})
                rendered.append(f"[{b.get('name') or 'tool'}] {json.dumps(b.get('input'), ensure_ascii=False)}")
                kinds.append(k.TOOL_USE)
            elif t == "tool_result":
                parts: list[Any] = b["content"] if isinstance(b.get("content"), list) else []
                out = "\n".join(p.get("text", "") for p in parts if isinstance(p, dict)
                                and isinstance(p.get("text"), str))
                blocks.append({"type": t, "tool_use_id": b.get("tool_use_id"), "name": b.get("name"),
                               "is_error": bool(b.get("is_error"))})
                rendered.append(out)
                kinds.append(k.TOOL_RESULT)
            elif t and t != "token_budget":
                blocks.append({"type": t})
    elif isinstance(msg.get("text"), str) and msg["text"].strip():
        prose.append(msg["text"])
    for a in msg.get("attachments") or []:
        if isinstance(a, dict) and isinstance(a.get("extracted_content"), str) and a["extracted_content"]:
            blocks.append({"type": "attachment", "file_name": a.get("file_name"),
                           "extracted_content": a["extracted_content"]})
            kinds.append(k.ATTACHMENT)
    for f in msg.get("files") or []:
        if isinstance(f, dict) and f.get("file_name"):
            blocks.append({"type": "file", "file_name": f.get("file_name")})
    return prose, rendered, blocks, kinds


def _current_branch(msgs: list[dict[str, Any]], leaf: Any) -> set[str] | None:
    """uuids on the path root → leaf, or None when the export has no parent links (all one branch)."""
    by_id = {m["uuid"]: m for m in msgs}
    if not any(isinstance(m.get("parent_message_uuid"), str) for m in msgs):
        return None
    if not isinstance(leaf, str) or leaf not in by_id:
        leaf = max(msgs, key=lambda m: (str(m.get("created_at") or ""), m.get("index") or 0))["uuid"]
    path: set[str] = set()
    cur: Any = leaf
    while isinstance(cur, str) and cur in by_id and cur not in path:
        path.add(cur)
        cur = by_id[cur].get("parent_message_uuid")
    return path


def parse_conversation(conv: Any, result: FileResult) -> None:
    sid = ident(conv.get("uuid")) if isinstance(conv, dict) else None
    if not isinstance(conv, dict) or sid is None:
        result.skipped["conversation without uuid"] += 1
        return
    raw = conv.get("chat_messages")
    if not isinstance(raw, list):
        result.skipped["conversation without messages"] += 1
        return
    msgs = []
    for m in raw:
        if not isinstance(m, dict) or ident(m.get("uuid")) is None:
            result.skipped["message without uuid"] += 1
        elif m.get("sender") not in ROLES:
            result.skipped["message with unknown sender"] += 1
        else:
            msgs.append({**m, "uuid": ident(m["uuid"])})
    branch = _current_branch(msgs, conv.get("current_leaf_message_uuid")) if msgs else None
    session = Session(sid, title=conv.get("name") if isinstance(conv.get("name"), str) else None)
    ordered = sorted(enumerate(msgs), key=lambda im: (im[1].get("index") if isinstance(im[1].get("index"), int)
                                                      else im[0], im[0]))
    for _, m in ordered:
        prose, rendered, blocks, kinds = _blocks(m)
        if not (prose or rendered or blocks):
            result.skipped["no message content"] += 1
            continue
        parent = m.get("parent_message_uuid")
        msg = Message(m["uuid"], sid, ROLES[m["sender"]], k.TEXT, "",
                      parent if isinstance(parent, str) and parent != ROOT_PARENT else None,
                      parse_time(m.get("created_at")), blocks=blocks)
        if prose:
            msg.text = "\n\n".join(p.strip("\n") for p in prose)
            if rendered:
                msg.blocks.append({"type": "rendered", "text": "\n".join(r for r in rendered if r)})
        else:
            msg.kind = kinds[0] if kinds else k.TEXT
            msg.text = "\n".join(r for r in rendered if r)
        if branch is not None and m["uuid"] not in branch and msg.kind == k.TEXT:
            msg.kind = k.BRANCH
        session.messages.append(msg)
    if session.messages:
        result.sessions[sid] = session


def parse_export(path: Path) -> FileResult:
    """Parse conversations.json (an array of conversations); a bad file is an error in the result."""
    result = FileResult()
    try:
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except OSError as exc:
        result.error = f"unreadable: {exc.strerror or exc}"
        return result
    except (ValueError, RecursionError) as exc:
        result.error = f"not JSON: {exc}"
        return result
    if isinstance(data, dict) and isinstance(data.get("conversations"), list):
        data = data["conversations"]
    if not isinstance(data, list):
        result.error = "not a claude.ai export: expected a list of conversations"
        return result
    for conv in data:
        if k.too_deep(conv):
            result.skipped["nesting too deep"] += 1
            continue
        parse_conversation(conv, result)
    result.end_offset = path.stat().st_size
    return result
