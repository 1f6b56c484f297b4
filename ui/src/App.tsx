import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { get, onAuthNeeded, setToken } from "./api/client";
import { DetailPane } from "./components/DetailPane";
import { Toasts } from "./components/Toasts";
import { bytes, count, when } from "./format";
import { navigate, routePath, useLocation } from "./router";
import { Duplicates } from "./views/Duplicates";
import { Preferences } from "./views/Preferences";
import { Search } from "./views/Search";
import { Sessions } from "./views/Sessions";
import { Settings } from "./views/Settings";
import { Timeline } from "./views/Timeline";
import { Trash } from "./views/Trash";

const VIEWS = [
  ["/", "Timeline"],
  ["/search", "Search"],
  ["/sessions", "Sessions"],
  ["/preferences", "Preferences"],
  ["/duplicates", "Duplicates"],
  ["/trash", "Trash"],
  ["/settings", "Settings"],
] as const;

function StatusBar() {
  const status = useQuery({ queryKey: ["status"], queryFn: () => get("/api/status"), refetchInterval: 30_000 });
  const stats = useQuery({ queryKey: ["stats"], queryFn: () => get("/api/stats") });
  const s = status.data;
  return (
    <header className="status" aria-label="Server status">
      <strong className="brand">claude-memory</strong>
      <span data-testid="status-server">{s ? `v${s.version}` : status.isError ? "server unreachable" : "…"}</span>
      <span data-testid="status-model">model {s ? `${s.model.name} (${s.model.state})` : "…"}</span>
      <span data-testid="status-db">database {s ? (s.database.reachable ? "ok" : "unreachable") : "…"}</span>
      <span data-testid="status-memories">{count(stats.data?.total_memories)} memories</span>
      <span data-testid="status-sessions">{count(s?.sessions?.imported)} sessions</span>
      <span data-testid="status-storage">{bytes(stats.data?.storage.database_bytes)} stored</span>
      <span data-testid="status-import">last import {when(s?.last_import)}</span>
      <span data-testid="status-distill">
        distill: {count(s?.sessions?.pending)} pending · {count(s?.sessions?.distilled)} distilled · {count(s?.sessions?.capped)} capped
      </span>
    </header>
  );
}

function TokenPrompt({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState("");
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-labelledby="token-title">
      <form
        className="card token"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim());
          onDone();
        }}
      >
        <h2 id="token-title">This server needs its API token</h2>
        <p>Enter MEMORY_API_TOKEN. It is kept for this tab only and sent as the Authorization header.</p>
        <label>
          Token
          <input type="password" autoFocus value={value} onChange={(e) => setValue(e.target.value)} name="token" />
        </label>
        <button type="submit" disabled={!value.trim()}>
          Use token
        </button>
      </form>
    </div>
  );
}

export function App() {
  const loc = useLocation();
  const path = routePath(loc);
  const [needToken, setNeedToken] = useState(false);
  useEffect(() => onAuthNeeded(() => setNeedToken(true)), []);
  const selected = Number(loc.searchParams.get("m")) || null;
  const view = path.startsWith("/sessions") ? "/sessions" : path;
  let body;
  switch (view) {
    case "/search":
      body = <Search />;
      break;
    case "/sessions":
      body = <Sessions sessionId={path.split("/")[2] ? decodeURIComponent(path.split("/")[2]) : null} />;
      break;
    case "/preferences":
      body = <Preferences />;
      break;
    case "/duplicates":
      body = <Duplicates />;
      break;
    case "/trash":
      body = <Trash />;
      break;
    case "/settings":
      body = <Settings />;
      break;
    default:
      body = <Timeline />;
  }
  return (
    <div className="app">
      <StatusBar />
      <nav className="tabs" aria-label="Views">
        {VIEWS.map(([to, label]) => (
          <a
            key={to}
            href={`/ui${to === "/" ? "/" : to}`}
            aria-current={view === to ? "page" : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate(to);
            }}
          >
            {label}
          </a>
        ))}
      </nav>
      <div className={selected ? "layout with-detail" : "layout"}>
        <main>{body}</main>
        {selected ? <DetailPane id={selected} /> : null}
      </div>
      <Toasts />
      {needToken ? (
        <TokenPrompt
          onDone={() => {
            setNeedToken(false);
            window.location.reload();
          }}
        />
      ) : null}
    </div>
  );
}
