// Deleted memories: restore, or purge for good after an inline confirmation.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { get, send } from "../api/client";
import { useRefresh } from "../components/DetailPane";
import { MemoryRow } from "../components/MemoryRow";
import { Pager } from "../components/Pager";
import { toast } from "../components/Toasts";

export function Trash() {
  const [offset, setOffset] = useState(0);
  const [confirming, setConfirming] = useState<number | null>(null);
  const refresh = useRefresh();
  const page = useQuery({ queryKey: ["trash", offset], queryFn: () => get("/api/memories", { status: "deleted", limit: 50, offset }) });
  const restore = useMutation({
    mutationFn: (id: number) => send("post", "/api/memories/{id}/restore", { params: { id } }),
    onSuccess: (r) => { toast(r.message); refresh(); },
  });
  const purge = useMutation({
    mutationFn: (id: number) => send("post", "/api/memories/{id}/purge", { params: { id } }),
    onSuccess: (r) => { toast(`Memory #${r.id} purged permanently`); setConfirming(null); refresh(); },
  });
  return (
    <section aria-labelledby="trash-title">
      <h1 id="trash-title">Trash</h1>
      <p className="muted">Deleted memories stay here until purged. Purging is permanent.</p>
      {page.data ? (
        <>
          <p data-testid="trash-count">{page.data.total.toLocaleString("en-US")} deleted memories</p>
          <ul className="memory-list" data-testid="trash">
            {page.data.memories.map((m) => (
              <MemoryRow key={m.id} m={m}>
                <div className="row">
                  <button type="button" onClick={() => restore.mutate(m.id)}>Restore</button>
                  {confirming === m.id ? (
                    <>
                      <span>Purge #{m.id} for good?</span>
                      <button type="button" className="danger" onClick={() => purge.mutate(m.id)}>Yes, purge</button>
                      <button type="button" onClick={() => setConfirming(null)}>No</button>
                    </>
                  ) : (
                    <button type="button" className="danger" onClick={() => setConfirming(m.id)}>Purge…</button>
                  )}
                </div>
              </MemoryRow>
            ))}
          </ul>
          <Pager total={page.data.total} limit={50} offset={offset} onChange={setOffset} label="trash" />
        </>
      ) : <p>Loading…</p>}
    </section>
  );
}
