// Export and import, and the danger zone: delete a project (soft, restorable from the trash), wipe everything
// (soft delete of all), then a separate purge of the trash that needs the word typed. Each reports the real
// counts the server changed.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { download, get, request, send, type Schemas } from "../api/client";
import { useRefresh } from "../components/DetailPane";
import { bytes } from "../format";

export function Settings() {
  const refresh = useRefresh();
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => get("/api/projects") });
  const [report, setReport] = useState<string>("");
  const [project, setProject] = useState("");
  const [preview, setPreview] = useState<Schemas["BulkDeleteResult"] | null>(null);
  const [wipePreview, setWipePreview] = useState<Schemas["BulkDeleteResult"] | null>(null);
  const [word, setWord] = useState("");
  const fail = (e: unknown) => setReport(`Failed: ${(e as Error).message}`);
  return (
    <section aria-labelledby="settings-title" className="settings">
      <h1 id="settings-title">Settings</h1>
      <p role="status" data-testid="report" className="report">{report}</p>
      <section aria-labelledby="export-title" className="card">
        <h2 id="export-title">Export</h2>
        <div className="row">
          <button type="button" onClick={() => download({ format: "json" }, "claude-memory-export.json").then((n) => setReport(`Exported ${bytes(n)} as JSON`), fail)}>Download JSON</button>
          <button type="button" onClick={() => download({ format: "markdown" }, "claude-memory-export.md").then((n) => setReport(`Exported ${bytes(n)} as markdown`), fail)}>Download markdown</button>
        </div>
      </section>
      <section aria-labelledby="import-title" className="card">
        <h2 id="import-title">Import an export file</h2>
        <label>
          JSON export
          <input
            type="file"
            accept="application/json,.json"
            name="import"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              request<Schemas["ImportResult"]>("POST", "/api/import", { raw: file })
                .then((r) => {
                  const skipped = Object.values(r.skipped).reduce((a, b) => a + b, 0);
                  setReport(`Imported ${r.memories} memories (${skipped} skipped)`);
                  refresh();
                }, fail);
            }}
          />
        </label>
      </section>
      <section aria-labelledby="danger-title" className="card danger-zone">
        <h2 id="danger-title">Danger zone</h2>
        <h3>Delete a project</h3>
        <div className="row">
          <label>
            Project
            <select value={project} onChange={(e) => { setProject(e.target.value); setPreview(null); }} name="delete-project">
              <option value="">choose…</option>
              {projects.data?.projects.map((p) => <option key={p.name} value={p.name}>{p.name} ({p.memories})</option>)}
            </select>
          </label>
          <button type="button" disabled={!project} onClick={() => send("delete", "/api/memories", { query: { project } }).then(setPreview, fail)}>Preview</button>
          {preview?.dry_run ? (
            <button
              type="button"
              className="danger"
              onClick={() => send("delete", "/api/memories", { query: { project, dry_run: false } }).then((r) => {
                setReport(`Deleted ${r.deleted} memories of ${project}; they are in the trash`);
                setPreview(null);
                refresh();
              }, fail)}
            >
              Delete {preview.would_delete} memories
            </button>
          ) : null}
        </div>
        <h3>Wipe everything</h3>
        <div className="row">
          <button type="button" onClick={() => send("delete", "/api/memories", { query: { all: true } }).then(setWipePreview, fail)}>Preview wipe</button>
          {wipePreview?.dry_run ? (
            <button
              type="button"
              className="danger"
              onClick={() => send("delete", "/api/memories", { query: { all: true, dry_run: false } }).then((r) => {
                setReport(`Wiped: ${r.deleted} memories moved to the trash (restorable until purged)`);
                setWipePreview(null);
                refresh();
              }, fail)}
            >
              Move all {wipePreview.would_delete} memories to the trash
            </button>
          ) : null}
        </div>
        <h3>Purge the trash</h3>
        <p>Permanently removes every deleted memory. Type <code>purge</code> to confirm.</p>
        <div className="row">
          <label>
            Confirmation
            <input value={word} onChange={(e) => setWord(e.target.value)} name="purge-word" autoComplete="off" />
          </label>
          <button
            type="button"
            className="danger"
            disabled={word !== "purge"}
            onClick={() => send("post", "/api/trash/purge", { body: { confirm: word } }).then((r) => {
              setReport(`Purged ${r.purged} memories permanently`);
              setWord("");
              refresh();
            }, fail)}
          >
            Purge trash
          </button>
        </div>
      </section>
    </section>
  );
}
