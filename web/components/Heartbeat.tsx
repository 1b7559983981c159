/** @jsxImportSource preact */
import { useEffect, useRef } from "preact/hooks";
import { beatOf } from "../store.ts";

/**
 * The probe heartbeat of one backend: lit while a probe is in flight, and a
 * short pulse each time one finishes. It reads only its own backend's
 * signal, so a probe re-renders this dot and nothing else.
 */
export function Heartbeat(props: { scope: string; backend: string }) {
  const beat = beatOf(props.scope, props.backend).value;
  const ref = useRef<HTMLSpanElement>(null);
  const seen = useRef(beat.count);
  useEffect(() => {
    if (seen.current === beat.count) return;
    seen.current = beat.count;
    const el = ref.current;
    if (el === null) return;
    el.classList.remove("beat-pulse");
    void el.offsetWidth; // restart the animation
    el.classList.add("beat-pulse");
    const t = setTimeout(() => el.classList.remove("beat-pulse"), 700);
    return () => clearTimeout(t);
  }, [beat.count]);
  return (
    <span
      ref={ref}
      class={`beat${beat.live ? " beat-on" : ""}`}
      title={beat.live ? "probe in flight" : `${beat.count} probes seen`}
      role="img"
      aria-label={beat.live ? "probe in flight" : "no probe in flight"}
      data-probes={beat.count}
    />
  );
}
