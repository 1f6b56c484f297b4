// The Timeline River: one lane per project over the whole history, density from /api/timeline (computed in
// SQL). Wheel or buttons zoom, drag pans, a click on a stretch lists that lane's memories in that stretch.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { get } from "../api/client";
import { MemoryRow } from "../components/MemoryRow";
import { Pager } from "../components/Pager";
import { day } from "../format";

const BUCKETS = 120;
const LANE = 34;
const LABEL = 150;
const WIDTH = 1000;
const FOLD = 12;

type Window = { since?: string; before?: string };
type Stretch = { project: string | null; since: string; before: string };

export function Timeline() {
  const [win, setWin] = useState<Window>({});
  const [showAll, setShowAll] = useState(false);
  const [stretch, setStretch] = useState<Stretch | null>(null);
  const drag = useRef<{ x: number; start: number; end: number } | null>(null);
  const data = useQuery({
    queryKey: ["timeline", win],
    queryFn: () => get("/api/timeline", { buckets: BUCKETS, since: win.since, before: win.before }),
    placeholderData: keepPreviousData,
  });
  const t = data.data;
  const start = t?.start ? Date.parse(t.start) : 0;
  const end = t?.end ? Date.parse(t.end) : 0;
  const span = Math.max(1, end - start);
  const lanes = t ? (showAll ? t.projects : t.projects.slice(0, FOLD)) : [];
  const max = Math.max(1, ...lanes.flatMap((l) => l.counts));
  const plot = WIDTH - LABEL;
  const step = plot / BUCKETS;

  function zoom(factor: number, centre = 0.5) {
    if (!t) return;
    const newSpan = Math.max(60_000, span * factor);
    const mid = start + span * centre;
    const s = new Date(mid - newSpan * centre).toISOString();
    const e = new Date(mid + newSpan * (1 - centre)).toISOString();
    setWin({ since: s, before: e });
  }
  function pan(fraction: number) {
    if (!t) return;
    const shift = span * fraction;
    setWin({ since: new Date(start + shift).toISOString(), before: new Date(end + shift).toISOString() });
  }
  return (
    <section aria-labelledby="timeline-title">
      <div className="view-head">
        <h1 id="timeline-title">Timeline River</h1>
        <div className="row">
          <button type="button" onClick={() => zoom(0.5)}>Zoom in</button>
          <button type="button" onClick={() => zoom(2)}>Zoom out</button>
          <button type="button" onClick={() => pan(-0.25)} aria-label="Pan earlier">←</button>
          <button type="button" onClick={() => pan(0.25)} aria-label="Pan later">→</button>
          <button type="button" onClick={() => setWin({})}>Whole history</button>
        </div>
      </div>
      {t ? (
        <p className="muted" data-testid="timeline-summary">
          {t.total.toLocaleString("en-US")} memories in {t.projects.length} lanes, {day(t.start)} to {day(t.end)}
        </p>
      ) : (
        <p>{data.isError ? (data.error as Error).message : "Loading…"}</p>
      )}
      {t && t.projects.length === 0 ? (
        <p>{win.since ? "No memories in this stretch of time." : "No memories yet. Import your Claude Code history to see it here."}</p>
      ) : null}
      {t ? (
        <svg
          className="river"
          data-testid="river"
          viewBox={`0 0 ${WIDTH} ${lanes.length * LANE + 24}`}
          role="img"
          aria-label="Memories per project over time"
          onWheel={(e) => {
            const rect = (e.currentTarget as SVGSVGElement).getBoundingClientRect();
            const x = ((e.clientX - rect.left) / rect.width) * WIDTH;
            const centre = Math.min(1, Math.max(0, (x - LABEL) / plot));
            zoom(e.deltaY < 0 ? 0.8 : 1.25, centre);
          }}
          onPointerDown={(e) => {
            drag.current = { x: e.clientX, start, end };
          }}
          onPointerUp={(e) => {
            const d = drag.current;
            drag.current = null;
            if (!d) return;
            const rect = (e.currentTarget as SVGSVGElement).getBoundingClientRect();
            const dx = ((e.clientX - d.x) / rect.width) * WIDTH;
            if (Math.abs(dx) > 8) pan(-dx / plot);
          }}
        >
          {lanes.map((lane, li) => {
            const y = li * LANE;
            return (
              <g key={lane.project ?? "(none)"} className="lane" data-project={lane.project ?? ""}>
                <text x={4} y={y + LANE / 2 + 4} className="lane-label">
                  {(lane.project ?? "(no project)").slice(0, 20)} ({lane.total})
                </text>
                {lane.counts.map((c, bi) => {
                  if (!c) return null;
                  const h = Math.max(2, (c / max) * (LANE - 6));
                  const bStart = new Date(start + (span * bi) / BUCKETS).toISOString();
                  const bEnd = new Date(start + (span * (bi + 1)) / BUCKETS).toISOString();
                  return (
                    <rect
                      key={bi}
                      x={LABEL + bi * step}
                      y={y + (LANE - h) / 2}
                      width={Math.max(1, step - 0.5)}
                      height={h}
                      className="density"
                      data-count={c}
                      tabIndex={0}
                      role="button"
                      aria-label={`${c} memories in ${lane.project ?? "no project"} from ${day(bStart)}`}
                      onClick={() => setStretch({ project: lane.project, since: bStart, before: bEnd })}
                      onKeyDown={(e) => e.key === "Enter" && setStretch({ project: lane.project, since: bStart, before: bEnd })}
                    >
                      <title>{`${c} memories, ${day(bStart)} – ${day(bEnd)}`}</title>
                    </rect>
                  );
                })}
              </g>
            );
          })}
          <text x={LABEL} y={lanes.length * LANE + 18} className="axis">{day(t.start)}</text>
          <text x={WIDTH - 4} y={lanes.length * LANE + 18} className="axis" textAnchor="end">{day(t.end)}</text>
        </svg>
      ) : null}
      {t && t.projects.length > FOLD ? (
        <button type="button" onClick={() => setShowAll(!showAll)} data-testid="fold">
          {showAll ? `Fold to the ${FOLD} largest projects` : `Show all ${t.projects.length} projects`}
        </button>
      ) : null}
      {stretch ? <StretchList stretch={stretch} /> : null}
    </section>
  );
}

function StretchList({ stretch }: { stretch: Stretch }) {
  const [offset, setOffset] = useState(0);
  const page = useQuery({
    queryKey: ["stretch", stretch, offset],
    queryFn: () => get("/api/memories", { project: stretch.project ?? undefined, since: stretch.since, before: stretch.before, limit: 50, offset }),
  });
  return (
    <section aria-label="Memories in the chosen stretch" data-testid="stretch">
      <h2>
        {stretch.project ?? "No project"}: {day(stretch.since)} – {day(stretch.before)}
      </h2>
      {page.data ? (
        <>
          <ul className="memory-list">
            {page.data.memories
              .filter((m) => stretch.project !== null || m.project === null)
              .map((m) => <MemoryRow key={m.id} m={m} />)}
          </ul>
          <Pager total={page.data.total} limit={50} offset={offset} onChange={setOffset} label="stretch" />
        </>
      ) : (
        <p>Loading…</p>
      )}
    </section>
  );
}
