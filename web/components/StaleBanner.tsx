/** @jsxImportSource preact */
import { loaded, loadError, streamUp } from "../store.ts";

/**
 * Tells the operator the numbers may be old: without the event stream the
 * page silently stops updating, which is worse than showing nothing.
 */
export function StaleBanner() {
  if (loadError.value !== "") {
    return <div class="banner" role="alert">{loadError.value}</div>;
  }
  if (streamUp.value || !loaded.value) return null;
  return (
    <div class="banner" role="alert" id="stale">
      Live updates are down; reconnecting… What you see may be stale.
    </div>
  );
}
