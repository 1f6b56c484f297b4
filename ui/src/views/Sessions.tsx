// Imported sessions by project; one session's transcript from the lossless archive (tool calls and output
// folded, thinking hidden until asked) beside the memories it produced, raw and distilled.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { get, type Schemas } from "../api/client";
import { MemoryRow } from "../components/MemoryRow";
import { Pager } from "../components/Pager";
import { count, when } from "../format";
import { navigate } from "../router";

export function Sessions({ sessionId }: { sessionId: string | null }) {
  return sessionId ? <SessionView id={sessionId} /> : <SessionList />;
}

function SessionList() {
  const [project, setProject] = useState("");
  const [offset, setOffset] = useState(0);
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => get("/api/projects") });
  const page = useQuery({
    queryKey: ["sessions", project, offset],
    queryFn: () => get("/api/sessions", { project: project || undefined, limit: 50, offset }),
  });
  return (
    <section aria-labelledby="sessions-title">
      <div className="view-head">
        <h1 id="sessions-title">Sessions</h1>
        <label>
          Project
          <select value={project} onChange={(e) => { setProject(e.target.value); setOffset(0); }} name="project">
            <option value="">all</option>
            {projects.data?.projects.map((p) => <option key={p.name} value={p.name}>{p.name} ({p.sessions})</option>)}
          </select>
        </label>
      </div>
      {page.data ? (
        <>
          <table className="sessions" data-testid="sessions">
            <thead>
              <tr><th>Session</th><th>Project</th><th>Last message</th><th>Messages</th><th>Memories</th><th>Distill</th><th>Signals</th></tr>
            </thead>
            <tbody>
              {page.data.sessions.map((s) => (
                <tr key={s.session_id} data-session-id={s.session_id}>
                  <td>
                    <a href={`/ui/sessions/${encodeURIComponent(s.session_id)}`} onClick={(e) => { e.preventDefault(); navigate(`/sessions/${encodeURIComponent(s.session_id)}`); }}>
                      {s.title || s.session_id}
                    </a>
                  </td>
                  <td>{s.project ?? "–"}</td>
                  <td>{when(s.last_message_at)}</td>
                  <td>{count(s.message_count)}</td>
                  <td>{count(s.memories)}</td>
                  <td>{s.distill_state}</td>
                  <td>{s.signals_extracted ? "done" : "pending"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager total={page.data.total} limit={50} offset={offset} onChange={setOffset} label="sessions" />
        </>
      ) : <p>{page.isError ? (page.error as Error).message : "Loading…"}</p>}
    </section>
  );
}

const FOLDED = new Set(["tool_use", "tool_result", "command", "meta", "attachment", "system", "api_error", "interrupt"]);

function Message({ m, showThinking }: { m: Schemas["ArchivedMessage"]; showThinking: boolean }) {
  if (m.kind === "thinking" && !showThinking) return null;
  const head = `${m.role}${m.is_sidechain ? " (sub-agent)" : ""} · ${m.kind} · ${when(m.timestamp)}`;
  const body = (
    <>
      <pre className="message-text">{m.text}</pre>
      {m.truncated ? <p className="muted">cut at {m.text.length.toLocaleString("en-US")} of {m.length.toLocaleString("en-US")} characters</p> : null}
    </>
  );
  return (
    <li className={`message ${m.role} kind-${m.kind}`} data-kind={m.kind}>
      {FOLDED.has(m.kind) ? (
        <details>
          <summary>{head}</summary>
          {body}
        </details>
      ) : (
        <>
          <div className="meta">{head}</div>
          {body}
        </>
      )}
    </li>
  );
}

function SessionView({ id }: { id: string }) {
  const [offset, setOffset] = useState(0);
  const [showThinking, setShowThinking] = useState(false);
  const session = useQuery({ queryKey: ["session", id], queryFn: () => get("/api/sessions/{session_id}", undefined, { session_id: id }) });
  const messages = useQuery({
    queryKey: ["messages", id, offset],
    queryFn: () => get("/api/sessions/{session_id}/messages", { limit: 100, offset }, { session_id: id }),
  });
  const memories = useQuery({ queryKey: ["session-memories", id], queryFn: () => get("/api/sessions/{session_id}/memories", { limit: 200 }, { session_id: id }) });
  const s = session.data;
  if (session.isError) return <p role="alert">{(session.error as Error).message}</p>;
  return (
    <section aria-labelledby="session-title" className="session-view">
      <div className="view-head">
        <h1 id="session-title">{s?.title || id}</h1>
        <button type="button" onClick={() => navigate("/sessions")}>All sessions</button>
      </div>
      {s ? <p className="muted">{s.project ?? "no project"} · {count(s.message_count)} messages · {when(s.first_message_at)} – {when(s.last_message_at)} · distill {s.distill_state}</p> : null}
      <div className="split">
        <div>
          <div className="row">
            <h2>Transcript</h2>
            <label className="inline"><input type="checkbox" checked={showThinking} onChange={(e) => setShowThinking(e.target.checked)} /> show thinking</label>
          </div>
          <ol className="transcript" data-testid="transcript">
            {messages.data?.messages.map((m) => <Message key={m.uuid} m={m} showThinking={showThinking} />)}
          </ol>
          {messages.data ? <Pager total={messages.data.total} limit={100} offset={offset} onChange={setOffset} label="messages" /> : null}
        </div>
        <div>
          <h2>Memories from this session</h2>
          <ul className="memory-list" data-testid="session-memories">
            {memories.data?.memories.map((m) => (
              <MemoryRow key={m.id} m={m}>
                <span className="status-chip">{m.status}{m.tags.includes("distilled") ? " · distilled" : " · raw"}</span>
              </MemoryRow>
            ))}
            {memories.data && memories.data.total === 0 ? <li>None.</li> : null}
          </ul>
        </div>
      </div>
    </section>
  );
}
