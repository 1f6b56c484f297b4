import type { ReactNode } from "react";
import type { Memory } from "../api/client";
import { day } from "../format";
import { selectMemory } from "../router";

export function preview(text: string, n = 220): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= n ? flat : flat.slice(0, n - 1) + "…";
}

export function MemoryRow({ m, children, body }: { m: Pick<Memory, "id" | "content" | "project" | "created_at" | "tags">; children?: ReactNode; body?: ReactNode }) {
  return (
    <li className="memory-row" data-memory-id={m.id}>
      <button type="button" className="memory-open" onClick={() => selectMemory(m.id)} aria-label={`Open memory ${m.id}`}>
        <span className="meta">
          #{m.id} · {m.project ?? "no project"} · {day(m.created_at)}
        </span>
        <span className="memory-text">{body ?? preview(m.content)}</span>
      </button>
      {children}
    </li>
  );
}
