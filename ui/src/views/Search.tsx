// One search box (focus with / or Ctrl/⌘-K), three modes, project and date filters, a similarity
// threshold; each result has a bar whose length is its real score.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { get, send, type Schemas } from "../api/client";
import { Highlight } from "../components/Highlight";
import { preview } from "../components/MemoryRow";
import { day } from "../format";
import { selectMemory } from "../router";

type Mode = "semantic" | "keyword" | "hybrid";

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const h = setTimeout(() => setV(value), ms);
    return () => clearTimeout(h);
  }, [value, ms]);
  return v;
}

export function Search() {
  const box = useRef<HTMLInputElement>(null);
  const [text, setText] = useState("");
  const [mode, setMode] = useState<Mode>("hybrid");
  const [project, setProject] = useState("");
  const [since, setSince] = useState("");
  const [before, setBefore] = useState("");
  const [threshold, setThreshold] = useState(0);
  const query = useDebounced(text.trim(), 100);
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => get("/api/projects") });
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if ((e.key === "/" && !typing) || (e.key.toLowerCase() === "k" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        box.current?.focus();
      }
    };
    window.addEventListener("keydown", key);
    box.current?.focus();
    return () => window.removeEventListener("keydown", key);
  }, []);
  const results = useQuery({
    queryKey: ["search", query, mode, project, since, before, threshold],
    enabled: query.length > 0,
    queryFn: () =>
      send("post", "/api/search", {
        body: {
          query,
          mode,
          limit: 30,
          project: project || undefined,
          since: since || undefined,
          before: before || undefined,
          min_similarity: mode === "semantic" ? threshold : 0,
        },
      }),
  });
  const hits = (results.data?.results ?? []).filter((r) => mode === "semantic" || threshold === 0 || (r.similarity ?? 0) >= threshold);
  const top = Math.max(...hits.map((h) => score(h, mode)), 1e-9);
  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">Search</h1>
      <form className="search-form" role="search" onSubmit={(e) => e.preventDefault()}>
        <label className="grow">
          Query (/ or Ctrl-K)
          <input ref={box} type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="What did we decide about…" name="q" />
        </label>
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.target.value as Mode)} name="mode">
            <option value="hybrid">hybrid</option>
            <option value="semantic">semantic</option>
            <option value="keyword">keyword</option>
          </select>
        </label>
        <label>
          Project
          <select value={project} onChange={(e) => setProject(e.target.value)} name="project">
            <option value="">all</option>
            {projects.data?.projects.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
        </label>
        <label>
          Since
          <input type="date" value={since} onChange={(e) => setSince(e.target.value)} name="since" />
        </label>
        <label>
          Before
          <input type="date" value={before} onChange={(e) => setBefore(e.target.value)} name="before" />
        </label>
        <label>
          Min similarity {threshold.toFixed(2)}
          <input type="range" min={0} max={1} step={0.05} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} name="threshold" />
        </label>
      </form>
      {results.isError ? <p role="alert">{(results.error as Error).message}</p> : null}
      {query && results.data ? <p className="muted" data-testid="result-count">{hits.length} results</p> : null}
      <ol className="results" data-testid="results" data-query={results.data ? query : ""} data-mode={mode}>
        {hits.map((h) => {
          const s = score(h, mode);
          const width = mode === "semantic" ? Math.max(0, Math.min(1, s)) : s / top;
          return (
            <li key={h.id} data-memory-id={h.id} data-score={s}>
              <button type="button" className="memory-open" onClick={() => selectMemory(h.id)}>
                <span className="meta">#{h.id} · {h.project ?? "no project"} · {day(h.created_at)} · {label(mode)} {s.toFixed(3)}</span>
                <span className="bar" aria-hidden="true"><span style={{ width: `${(width * 100).toFixed(1)}%` }} /></span>
                <span className="memory-text">{mode === "semantic" ? preview(h.content, 300) : <Highlight text={preview(h.content, 300)} query={query} />}</span>
              </button>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function score(h: Schemas["SearchHit"], mode: Mode): number {
  return (mode === "semantic" ? h.similarity : h.score) ?? 0;
}

function label(mode: Mode): string {
  return mode === "semantic" ? "similarity" : mode === "keyword" ? "BM25" : "score";
}
