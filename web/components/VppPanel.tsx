/** @jsxImportSource preact */
import { type ScopeView, vppActivity } from "../store.ts";
import { Flash } from "./Flash.tsx";

/**
 * VPP connection status of one daemon, with a pulse on each VPP API message
 * so an operator can see the dataplane being programmed.
 */
export function VppPanel(props: { view: ScopeView }) {
  const { view } = props;
  const vpp = view.vpp;
  const pulses = vppActivity.value[view.scope.id] ?? 0;
  const connected = vpp?.connected ?? false;
  return (
    <section class="vpp" aria-label="VPP">
      <strong>VPP</strong>
      {vpp === undefined
        ? <span class="badge st-unknown">{view.vppError ?? "no data"}</span>
        : (
          <>
            <Flash value={connected}>
              <span class={`badge ${connected ? "st-up" : "st-down"}`}>
                {connected ? "connected" : "disconnected"}
              </span>
            </Flash>
            {vpp.version && <span class="ver">{vpp.version}</span>}
          </>
        )}
      <Flash value={pulses} class="pulse-wrap">
        <span class="pulse" title="VPP API activity">API</span>
      </Flash>
      <span class="sr-only" aria-live="off">
        {pulses} VPP API events seen
      </span>
    </section>
  );
}
