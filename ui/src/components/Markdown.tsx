// Memory text is hostile input (it comes from transcripts): markdown is rendered to React elements, raw HTML
// is shown as text and never parsed, only http(s)/mailto/relative links survive, and images are never
// loaded (they become a labelled link).
import { useState, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";

const SAFE = /^(https?:|mailto:|#|\/(?!\/))/i;

export function safeUrl(url: string): string {
  const trimmed = url.trim();
  return SAFE.test(trimmed) ? trimmed : "";
}

function CodeBlock({ children }: { children: ReactNode }) {
  const [copied, setCopied] = useState(false);
  const text = textOf(children);
  return (
    <div className="code-block">
      <button
        type="button"
        className="copy"
        aria-label="Copy code"
        onClick={() => {
          void navigator.clipboard?.writeText(text).then(() => setCopied(true));
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <pre>{children}</pre>
    </div>
  );
}

function textOf(node: ReactNode): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  if (node && typeof node === "object" && "props" in node) {
    return textOf((node as { props: { children?: ReactNode } }).props.children);
  }
  return "";
}

const components: Components = {
  a: ({ href, children }) => {
    const safe = safeUrl(href ?? "");
    if (!safe) return <span className="dropped-link">{children}</span>;
    return (
      <a href={safe} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    );
  },
  img: ({ alt, src }) => {
    const safe = safeUrl(src ?? "");
    return <span className="image-ref">[image{alt ? `: ${alt}` : ""}{safe ? ` — ${safe}` : ""}]</span>;
  },
  pre: ({ children }) => <CodeBlock>{children}</CodeBlock>,
};

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown components={components} skipHtml={false} urlTransform={(u) => safeUrl(u)}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
