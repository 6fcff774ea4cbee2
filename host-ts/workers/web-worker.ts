// Web Worker entry (the browser build; scripts/build.mjs bundles it into dist/web-worker.src.js,
// which web.ts starts from a blob: URL): the first message is the WorkerInit, then workerMain
// (run.ts). The script is an absolute URL (web.ts resolves it against the page).
import { workerMain, type WorkerInit } from "./run.js";

const scope = globalThis as unknown as { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown): void };
scope.onmessage = (ev: MessageEvent) => {
  scope.onmessage = null;
  void workerMain(ev.data as WorkerInit, (script) => import(/* @vite-ignore */ script), (m) => scope.postMessage(m));
};
