/** @jsxImportSource preact */
import { beatOf } from "../store.ts";
import { useRestartClass } from "./restartClass.ts";

/**
 * The probe heartbeat of one backend: lit while a probe is in flight, and a
 * short pulse each time one finishes. It reads only its own backend's
 * signal, so a probe re-renders this dot and nothing else.
 */
export function Heartbeat(props: { scope: string; backend: string }) {
  const beat = beatOf(props.scope, props.backend).value;
  const ref = useRestartClass<HTMLSpanElement>(beat.count, "beat-pulse", 700);
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
