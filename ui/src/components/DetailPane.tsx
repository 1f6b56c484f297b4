// Everything about one memory: fields, related memories, editing (with the write guard's answer),
// delete with undo, and the full-content reader.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { get, send } from "../api/client";
import { when } from "../format";
import { selectMemory } from "../router";
import { Reader } from "./Reader";
import { toast } from "./Toasts";

export function useRefresh(): () => void {
  const qc = useQueryClient();
  return () => void qc.invalidateQueries();
}

export function DetailPane({ id }: { id: number }) {
  const refresh = useRefresh();
  const memory = useQuery({ queryKey: ["memory", id], queryFn: () => get("/api/memories/{id}", undefined, { id }) });
  const related = useQuery({
    queryKey: ["related", id],
    queryFn: () => get("/api/memories/{id}/related", { limit: 5 }, { id }),
    enabled: memory.isSuccess,
  });
  const [editing, setEditing] = useState(false);
  const [content, setContent] = useState("");
  const [tags, setTags] = useState("");
  const [guard, setGuard] = useState<string | null>(null);
  const [reading, setReading] = useState(false);
  useEffect(() => {
    setEditing(false);
    setGuard(null);
  }, [id]);
  const m = memory.data;
  const save = useMutation({
    mutationFn: () =>
      send("patch", "/api/memories/{id}", {
        params: { id },
        body: {
          content: content !== m?.content ? content : undefined,
          tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
        },
      }),
    onSuccess: (r) => {
      setGuard(r.message);
      if (r.updated || r.status === "unchanged") setEditing(false);
      refresh();
    },
    onError: (e: Error) => setGuard(e.message),
  });
  const remove = useMutation({
    mutationFn: () => send("delete", "/api/memories/{id}", { params: { id } }),
    onSuccess: () => {
      refresh();
      toast(`Memory #${id} moved to the trash`, {
        label: "Undo",
        run: () => void send("post", "/api/memories/{id}/restore", { params: { id } }).then(refresh),
      });
    },
  });
  if (memory.isError) {
    return (
      <aside className="detail" aria-label="Memory detail">
        <p role="alert">{(memory.error as Error).message}</p>
        <button type="button" onClick={() => selectMemory(null)}>Close</button>
      </aside>
    );
  }
  if (!m) return <aside className="detail" aria-label="Memory detail">Loading…</aside>;
  return (
    <aside className="detail" aria-label="Memory detail" data-testid="detail">
      <div className="detail-head">
        <h2>Memory #{m.id}</h2>
        <button type="button" onClick={() => selectMemory(null)} aria-label="Close detail">✕</button>
      </div>
      <dl className="fields">
        <dt>Status</dt><dd data-testid="detail-status">{m.status}</dd>
        <dt>Project</dt><dd>{m.project ?? "none"}</dd>
        <dt>Source</dt><dd>{m.source ?? "none"}</dd>
        <dt>Session</dt><dd>{m.session_id ? <a href={`/ui/sessions/${encodeURIComponent(m.session_id)}`}>{m.session_id}</a> : "none"}</dd>
        <dt>Created</dt><dd>{when(m.created_at)}</dd>
        <dt>Updated</dt><dd>{when(m.updated_at)}</dd>
        {m.deleted_at ? (<><dt>Deleted</dt><dd>{when(m.deleted_at)}</dd></>) : null}
        <dt>Tags</dt>
        <dd className="tags" data-testid="detail-tags">{m.tags.length ? m.tags.map((t) => <span className="tag" key={t}>{t}</span>) : "none"}</dd>
      </dl>
      {editing ? (
        <form
          className="edit"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate();
          }}
        >
          <label>
            Content
            <textarea value={content} onChange={(e) => setContent(e.target.value)} rows={10} name="content" />
          </label>
          <label>
            Tags (comma-separated)
            <input value={tags} onChange={(e) => setTags(e.target.value)} name="tags" />
          </label>
          <div className="row">
            <button type="submit" disabled={save.isPending}>Save</button>
            <button type="button" onClick={() => setEditing(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <>
          <p className="content-preview" data-testid="detail-content">{m.content.length > 1200 ? m.content.slice(0, 1200) + "…" : m.content}</p>
          <div className="row">
            <button type="button" onClick={() => setReading(true)}>Read in full</button>
            {m.status !== "deleted" ? (
              <>
                <button
                  type="button"
                  onClick={() => {
                    setContent(m.content);
                    setTags(m.tags.join(", "));
                    setGuard(null);
                    setEditing(true);
                  }}
                >
                  Edit
                </button>
                <button type="button" className="danger" onClick={() => remove.mutate()}>Delete</button>
              </>
            ) : (
              <button type="button" onClick={() => void send("post", "/api/memories/{id}/restore", { params: { id } }).then(refresh)}>Restore</button>
            )}
          </div>
        </>
      )}
      {guard ? <p className="guard" role="status" data-testid="guard">{guard}</p> : null}
      <h3>Related</h3>
      <ul className="related" data-testid="related">
        {related.data?.related.map((r) => (
          <li key={r.id}>
            <button type="button" onClick={() => selectMemory(r.id)}>
              <span className="meta">#{r.id} · {r.project ?? "no project"} · similarity {r.similarity.toFixed(3)}</span>
              <span>{r.preview}</span>
            </button>
          </li>
        ))}
        {related.data && related.data.related.length === 0 ? <li>No related memories.</li> : null}
      </ul>
      {reading ? <Reader title={`Memory #${m.id}`} text={m.content} onClose={() => setReading(false)} /> : null}
    </aside>
  );
}
