/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { type LogLine, logLines } from "../store.ts";

/**
 * The live event log: newest at the bottom and followed automatically,
 * unless paused so a line can be read while events keep coming.
 */
export function EventLog() {
  const all = logLines.value;
  const [paused, setPaused] = useState(false);
  const [frozen, setFrozen] = useState<readonly LogLine[]>([]);
  const ref = useRef<HTMLOListElement>(null);
  const lines = paused ? frozen : all;
  const last = all[all.length - 1]?.seq ?? 0;
  const shownLast = lines[lines.length - 1]?.seq ?? 0;
  const waiting = all.filter((l) => l.seq > shownLast).length;
  useEffect(() => {
    const el = ref.current;
    if (el !== null && !paused) el.scrollTop = el.scrollHeight;
  }, [last, paused]);
  return (
    <section class="log" aria-label="Event log">
      <div class="log-head">
        <h2>Events</h2>
        <button
          type="button"
          aria-pressed={paused}
          onClick={() => {
            if (!paused) setFrozen(all);
            setPaused(!paused);
          }}
        >
          {paused ? `Resume (${waiting} new)` : "Pause"}
        </button>
      </div>
      <ol ref={ref} class="log-lines" tabIndex={0} aria-label="Recent events">
        {lines.map((l) => (
          <li key={l.seq} class={`lv-${l.level}`}>
            <time>{new Date(l.atMs).toLocaleTimeString()}</time>{" "}
            <span class="log-scope">{l.scope}</span> {l.text}
          </li>
        ))}
      </ol>
    </section>
  );
}
