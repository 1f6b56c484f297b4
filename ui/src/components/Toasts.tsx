// Transient messages with an optional action (Undo after a delete).
import { useEffect, useState } from "react";

type Toast = { id: number; text: string; action?: { label: string; run: () => void } };
let next = 1;
const listeners = new Set<(t: Toast) => void>();

export function toast(text: string, action?: Toast["action"]): void {
  const t = { id: next++, text, action };
  listeners.forEach((fn) => fn(t));
}

export function Toasts() {
  const [items, setItems] = useState<Toast[]>([]);
  useEffect(() => {
    const add = (t: Toast) => {
      setItems((xs) => [...xs, t]);
      setTimeout(() => setItems((xs) => xs.filter((x) => x.id !== t.id)), 12_000);
    };
    listeners.add(add);
    return () => {
      listeners.delete(add);
    };
  }, []);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {items.map((t) => (
        <div className="toast" key={t.id}>
          <span>{t.text}</span>
          {t.action ? (
            <button
              type="button"
              onClick={() => {
                t.action!.run();
                setItems((xs) => xs.filter((x) => x.id !== t.id));
              }}
            >
              {t.action.label}
            </button>
          ) : null}
        </div>
      ))}
    </div>
  );
}
