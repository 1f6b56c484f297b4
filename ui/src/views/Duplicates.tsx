// Near-duplicate pairs side by side: keep one (the other goes to the trash) or keep both (remembered in this
// browser, so the pair stops showing).
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { get, send } from "../api/client";
import { useRefresh } from "../components/DetailPane";
import { toast } from "../components/Toasts";
import { selectMemory } from "../router";

const KEPT = "claude-memory-kept-pairs";

function kept(): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(KEPT) ?? "[]") as string[]);
  } catch {
    return new Set();
  }
}

export function Duplicates() {
  const [threshold, setThreshold] = useState(0.9);
  const [keptPairs, setKeptPairs] = useState(kept);
  const refresh = useRefresh();
  const pairs = useQuery({ queryKey: ["duplicates", threshold], queryFn: () => get("/api/duplicates", { threshold, limit: 50 }) });
  const drop = useMutation({
    mutationFn: (id: number) => send("delete", "/api/memories/{id}", { params: { id } }),
    onSuccess: (_r, id) => {
      refresh();
      toast(`Kept one; #${id} is in the trash`, { label: "Undo", run: () => void send("post", "/api/memories/{id}/restore", { params: { id } }).then(refresh) });
    },
  });
  const shown = (pairs.data?.pairs ?? []).filter((p) => !keptPairs.has(`${p.a.id}-${p.b.id}`));
  return (
    <section aria-labelledby="dups-title">
      <div className="view-head">
        <h1 id="dups-title">Duplicates</h1>
        <label>
          Similarity at least {threshold.toFixed(2)}
          <input type="range" min={0.5} max={1} step={0.01} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} name="threshold" />
        </label>
      </div>
      {pairs.data ? <p className="muted" data-testid="pair-count">{shown.length} pairs (newest {pairs.data.scanned} memories scanned)</p> : <p>Loading…</p>}
      <ul className="pairs" data-testid="pairs">
        {shown.map((p) => (
          <li key={`${p.a.id}-${p.b.id}`} className="pair" data-pair={`${p.a.id}-${p.b.id}`}>
            <p className="meta">similarity {p.similarity.toFixed(3)}</p>
            <div className="split">
              {[p.a, p.b].map((side, i) => (
                <div key={side.id} className="card">
                  <button type="button" className="memory-open" onClick={() => selectMemory(side.id)}>#{side.id}: {side.preview}</button>
                  <button type="button" onClick={() => drop.mutate(i === 0 ? p.b.id : p.a.id)}>Keep #{side.id}</button>
                </div>
              ))}
            </div>
            <button
              type="button"
              onClick={() => {
                const next = new Set(keptPairs).add(`${p.a.id}-${p.b.id}`);
                localStorage.setItem(KEPT, JSON.stringify([...next]));
                setKeptPairs(next);
              }}
            >
              Keep both
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
