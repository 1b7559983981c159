/** @jsxImportSource preact */
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Entry point of the dashboard SPA (bundled by tools/web_build.ts).
 */
import { render } from "preact";
import { App } from "./components/App.tsx";
import { start } from "./store.ts";

const root = document.getElementById("app");
if (root !== null) {
  render(<App />, root);
  start();
}
