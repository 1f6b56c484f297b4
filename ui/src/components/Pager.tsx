export function Pager({ total, limit, offset, onChange, label }: {
  total: number;
  limit: number;
  offset: number;
  onChange: (offset: number) => void;
  label: string;
}) {
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={offset <= 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ← Newer
      </button>
      <span data-testid={`${label}-range`}>
        {total === 0 ? "0" : `${offset + 1}–${Math.min(total, offset + limit)}`} of {total.toLocaleString("en-US")}
      </span>
      <button type="button" disabled={offset >= last} onClick={() => onChange(Math.min(last, offset + limit))}>
        Older →
      </button>
    </nav>
  );
}
