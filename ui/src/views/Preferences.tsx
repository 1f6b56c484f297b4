// The three tiers with evidence, last seen, confidence and status (explicit, supported by two or more
// sessions, or a candidate seen once and kept out of the context); confirm (it becomes an explicit
// preference) or reject (soft delete); and exactly the text the SessionStart hook injects, with its size.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { get, send, type Schemas } from "../api/client";
import { useRefresh } from "../components/DetailPane";
import { toast } from "../components/Toasts";
import { day } from "../format";
import { selectMemory } from "../router";

const LEARNED = new Set(["source:signals", "type:behavior", "type:pattern", "signal:correction", "source:behavioral"]);

export function Preferences() {
  const [project, setProject] = useState("");
  const refresh = useRefresh();
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => get("/api/projects") });
  const prefs = useQuery({ queryKey: ["preferences", project], queryFn: () => get("/api/preferences", { project: project || undefined }) });
  const context = useQuery({ queryKey: ["context", project], queryFn: () => get("/api/context", { project: project || undefined }) });
  const confirm = useMutation({
    mutationFn: (e: Schemas["PreferenceEntry"]) =>
      send("patch", "/api/memories/{id}", {
        params: { id: e.id },
        body: { tags: [...e.tags.filter((t) => !LEARNED.has(t) && !t.startsWith("type:")), "type:preference", "confirmed"] },
      }),
    onSuccess: (_r, e) => {
      toast(`Preference #${e.id} confirmed: it is explicit now`);
      refresh();
    },
  });
  const reject = useMutation({
    mutationFn: (e: Schemas["PreferenceEntry"]) => send("delete", "/api/memories/{id}", { params: { id: e.id } }),
    onSuccess: (_r, e) => {
      refresh();
      toast(`Rejected #${e.id} (in the trash)`, { label: "Undo", run: () => void send("post", "/api/memories/{id}/restore", { params: { id: e.id } }).then(refresh) });
    },
  });
  return (
    <section aria-labelledby="prefs-title">
      <div className="view-head">
        <h1 id="prefs-title">Preferences</h1>
        <label>
          Project
          <select value={project} onChange={(e) => setProject(e.target.value)} name="project">
            <option value="">all projects</option>
            {projects.data?.projects.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
        </label>
      </div>
      <div className="split">
        <div>
          {prefs.data?.tiers.map((tier) => (
            <section key={tier.tier} className="tier" data-tier={tier.tier} aria-label={`${tier.tier} preferences`}>
              <h2>{tier.tier} <span className="muted">({tier.entries.length})</span></h2>
              {tier.entries.length === 0 ? <p className="muted">Nothing in this tier yet.</p> : null}
              <ul className="memory-list">
                {tier.entries.map((e) => (
                  <li key={e.id} className="memory-row" data-memory-id={e.id}>
                    <button type="button" className="memory-open" onClick={() => selectMemory(e.id)}>
                      <span className="meta">
                        <span className={`badge status-${e.status}`} data-status={e.status}
                          title={e.status === "candidate" ? "Seen once: kept out of the startup context until you confirm it or it is seen again" : "Reaches the startup context"}>
                          {e.status === "candidate" ? "candidate" : e.status === "supported" ? "in context" : "explicit"}
                        </span>{" "}
                        #{e.id} · {e.kind} · evidence {e.evidence} {e.evidence === 1 ? "session" : "sessions"} · last seen {day(e.last_seen)} · confidence {e.confidence.toFixed(2)}
                      </span>
                      <span className="memory-text">{e.content}</span>
                    </button>
                    <div className="row">
                      {tier.tier !== "explicit" ? <button type="button" onClick={() => confirm.mutate(e)}>Confirm</button> : null}
                      <button type="button" className="danger" onClick={() => reject.mutate(e)}>Reject</button>
                    </div>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
        <div>
          <h2>Startup context preview</h2>
          {context.data ? (
            <>
              <p className="muted" data-testid="context-size">{context.data.bytes} of {context.data.budget} bytes{context.data.resolved_project ? ` · project ${context.data.resolved_project}` : ""}</p>
              <pre className="context" data-testid="context">{context.data.context}</pre>
            </>
          ) : <p>Loading…</p>}
        </div>
      </div>
    </section>
  );
}
