/** @jsxImportSource preact */
import { admin, currentScope, loaded, serverVersion } from "../store.ts";
import { ConfirmDialog } from "./ConfirmDialog.tsx";
import { EventLog } from "./EventLog.tsx";
import { FrontendCard } from "./FrontendCard.tsx";
import { ScopeTabs } from "./ScopeTabs.tsx";
import { StaleBanner } from "./StaleBanner.tsx";
import { VppPanel } from "./VppPanel.tsx";

/** The page: header, daemon tabs, the chosen daemon's frontends, admin extras. */
export function App() {
  const view = currentScope.value;
  const isAdmin = admin.value;
  return (
    <>
      <header class="top">
        <h1>maglev</h1>
        <span class="mode">{isAdmin ? "admin" : "view"}</span>
        {serverVersion.value && <span class="ver">{serverVersion.value}</span>}
      </header>
      <StaleBanner />
      <ScopeTabs />
      <main>
        <div id="scope-panel" role="tabpanel">
          {!loaded.value && <p class="muted">Loading…</p>}
          {view !== undefined && (
            <>
              {!view.scope.connected && (
                <p class="banner" role="status">
                  Daemon {view.scope.id} is unreachable
                  {view.scope.error ? `: ${view.scope.error}` : ""}; showing the
                  last known state.
                </p>
              )}
              <VppPanel view={view} />
              <div class="cards">
                {view.frontends.map((f) => (
                  <FrontendCard key={f.name} view={view} f={f} />
                ))}
                {view.frontends.length === 0 && (
                  <p class="muted">No frontends.</p>
                )}
              </div>
            </>
          )}
        </div>
      </main>
      {isAdmin && <EventLog />}
      {isAdmin && <ConfirmDialog />}
    </>
  );
}
