// Client-side routes under /ui (the server answers every deep link with index.html).
import { useEffect, useState } from "react";

export const BASE = "/ui";

function current(): URL {
  return new URL(window.location.href);
}

export function navigate(to: string, replace = false): void {
  const target = to.startsWith("/") ? BASE + to : to;
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  window.dispatchEvent(new Event("cm:navigate"));
}

export function useLocation(): URL {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    window.addEventListener("popstate", update);
    window.addEventListener("cm:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("cm:navigate", update);
    };
  }, []);
  return loc;
}

export function routePath(loc: URL): string {
  const p = loc.pathname.startsWith(BASE) ? loc.pathname.slice(BASE.length) : loc.pathname;
  return p.replace(/\/+$/, "") || "/";
}

// The memory shown in the detail pane is ?m=<id> on any view.
export function selectMemory(id: number | null): void {
  const url = current();
  if (id === null) url.searchParams.delete("m");
  else url.searchParams.set("m", String(id));
  navigate(url.pathname + url.search);
}
