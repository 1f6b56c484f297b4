// A tiny typed client over the REST API. Types come from the generated OpenAPI schema (schema.d.ts), so the
// UI and the server cannot drift. The token (when the server has one) lives in sessionStorage for the tab and
// is sent only as the Authorization header.
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Memory = Schemas["Memory"];
export type MemoryPage = Schemas["MemoryPage"];

const TOKEN_KEY = "claude-memory-token";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

type Listener = () => void;
const authListeners = new Set<Listener>();
export function onAuthNeeded(fn: Listener): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}
export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

type Query = Record<string, string | number | boolean | undefined | null>;

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return path + (qs ? `?${qs}` : "");
}

function headers(json: boolean): Headers {
  const h = new Headers();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) h.set("Authorization", `Bearer ${token}`);
  if (json) h.set("Content-Type", "application/json");
  return h;
}

export async function request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; raw?: BodyInit } = {}): Promise<T> {
  const hasBody = opts.body !== undefined || opts.raw !== undefined;
  const res = await fetch(url(path, opts.query), {
    method,
    headers: headers(hasBody),
    body: opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
    credentials: "same-origin",
  });
  if (res.status === 401) authListeners.forEach((fn) => fn());
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const data = (await res.json()) as { error?: string };
      if (data.error) message = data.error;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

// Path-typed helpers: the reply type is read off the OpenAPI paths.
type Json<P extends keyof paths, M extends string> = M extends keyof paths[P]
  ? paths[P][M] extends { responses: { 200: { content: { "application/json": infer R } } } }
    ? R
    : paths[P][M] extends { responses: { 201: { content: { "application/json": infer R } } } }
      ? R
      : never
  : never;

export function get<P extends keyof paths>(path: P, query?: Query, params?: Record<string, string | number>): Promise<Json<P, "get">> {
  return request("GET", fill(path, params), { query });
}
export function send<P extends keyof paths, M extends "post" | "patch" | "delete">(
  method: M,
  path: P,
  opts: { params?: Record<string, string | number>; query?: Query; body?: unknown } = {},
): Promise<Json<P, M>> {
  return request(method.toUpperCase(), fill(path, opts.params), { query: opts.query, body: opts.body });
}

function fill(path: string, params?: Record<string, string | number>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(params?.[k] ?? "")));
}

// Downloads go through fetch (so the token header is sent) and a blob URL.
export async function download(query: Query, filename: string): Promise<number> {
  const res = await fetch(url("/api/export", query), { headers: headers(false) });
  if (res.status === 401) authListeners.forEach((fn) => fn());
  if (!res.ok) throw new ApiError(res.status, `export failed: ${res.status}`);
  const blob = await res.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return blob.size;
}
