/** @jsxImportSource preact */
import { formatElapsed } from "../format.ts";
import { now } from "../store.ts";

/**
 * Live "time since" cell; re-renders with the shared one-second clock so
 * all rows tick together.
 */
export function Since(props: { atMs: number }) {
  if (Number.isNaN(props.atMs)) return <span>–</span>;
  const at = new Date(props.atMs);
  return (
    <time dateTime={at.toISOString()} title={at.toLocaleString()}>
      {formatElapsed(now.value - props.atMs)}
    </time>
  );
}
