import { useEffect } from "react";
import { Markdown } from "./Markdown";

export function Reader({ title, text, onClose }: { title: string; text: string; onClose: () => void }) {
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", esc);
    return () => window.removeEventListener("keydown", esc);
  }, [onClose]);
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-label={title} onClick={onClose}>
      <article className="card reader" data-testid="reader" onClick={(e) => e.stopPropagation()}>
        <div className="detail-head">
          <h2>{title}</h2>
          <button type="button" onClick={onClose} aria-label="Close reader" autoFocus>✕</button>
        </div>
        <Markdown text={text} />
      </article>
    </div>
  );
}
