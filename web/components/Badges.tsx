/** @jsxImportSource preact */
import type { Health } from "../format.ts";

/**
 * A state word in a coloured pill; the word itself is the text, so colour is
 * never the only signal.
 */
export function StateBadge(props: { state: string | undefined }) {
  const s = props.state ?? "unknown";
  return <span class={`badge st-${s}`}>{s}</span>;
}

/** Health icon with a text alternative for screen readers and tooltips. */
export function HealthIcon(props: { health: Health }) {
  const h = props.health;
  return (
    <span
      class={`health h-${h.kind}`}
      role="img"
      aria-label={h.label}
      title={h.label}
      data-health={h.kind}
    >
      {h.icon}
    </span>
  );
}
