/** @jsxImportSource preact */
import { chooseScope, currentScope, scopes } from "../store.ts";

/**
 * One tab per daemon with its connection dot. Arrow keys move between tabs
 * (the WAI-ARIA tabs pattern), so it is usable without a mouse.
 */
export function ScopeTabs() {
  const all = scopes.value;
  const cur = currentScope.value?.scope.id;
  const onKey = (e: KeyboardEvent, i: number) => {
    const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (d === 0) return;
    e.preventDefault();
    const next = all[(i + d + all.length) % all.length];
    chooseScope(next.scope.id);
    document.getElementById(`tab-${next.scope.id}`)?.focus();
  };
  return (
    <nav class="tabs" role="tablist" aria-label="Daemons">
      {all.map((s, i) => {
        const sel = s.scope.id === cur;
        const up = s.scope.connected;
        return (
          <button
            type="button"
            key={s.scope.id}
            id={`tab-${s.scope.id}`}
            role="tab"
            class="tab"
            aria-selected={sel}
            aria-controls="scope-panel"
            tabIndex={sel ? 0 : -1}
            onClick={() => chooseScope(s.scope.id)}
            onKeyDown={(e) => onKey(e, i)}
            title={up
              ? `connected${
                s.scope.version ? `: maglev ${s.scope.version}` : ""
              }`
              : `disconnected: ${s.scope.error ?? ""}`}
          >
            <span
              class={`dot ${up ? "dot-up" : "dot-down"}`}
              aria-hidden="true"
            />
            <span class="sr-only">{up ? "connected: " : "disconnected: "}</span>
            {s.scope.id}
          </button>
        );
      })}
    </nav>
  );
}
