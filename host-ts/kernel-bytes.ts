// The kernel module's bytes, Node flavour: build/uffdlab.<build>.wasm, found relative to this
// module (dist/index.js in the package, host-ts/kernel-bytes.ts in a checkout: both sit one level
// below the root). The browser build replaces this module with kernel-bytes.browser.ts
// (scripts/build.mjs), which carries the bytes itself.
import { readFile } from "node:fs/promises";
import type { Build } from "./wasm.js";

export async function kernelBytes(build: Build): Promise<Uint8Array> {
  return readFile(new URL(`../build/uffdlab.${build}.wasm`, import.meta.url));
}

/** Bytes at `url`: a file: URL is read from disk (Node's fetch cannot), anything else fetched. */
export async function readUrl(url: URL): Promise<Uint8Array | Response> {
  return url.protocol === "file:" ? readFile(url) : fetch(url);
}
