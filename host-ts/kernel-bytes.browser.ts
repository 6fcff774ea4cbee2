// The kernel module's bytes, browser flavour: dist/kernel-<build>.wasm.js, written by
// scripts/build.mjs beside dist/browser.js, holds the module as base64 (about 80 KiB). A module
// import rather than a fetch of a .wasm file, because every way of loading the package — unbundled
// with an import map, esbuild, Vite's dev server (which pre-bundles dependencies and so moves
// `new URL(..., import.meta.url)` away from its asset) and Vite's build — follows a relative
// import() with no configuration, while none of them copies a .wasm asset the same way.
import type { Build } from "./wasm.js";

export async function kernelBytes(build: Build): Promise<Uint8Array> {
  const m = (build === "release"
    // @ts-expect-error: generated beside dist/browser.js at build time
    ? await import("./kernel-release.wasm.js")
    // @ts-expect-error: generated beside dist/browser.js at build time
    : await import("./kernel-debug.wasm.js")) as { default: string };
  const bin = atob(m.default);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export async function readUrl(url: URL): Promise<Uint8Array | Response> {
  return fetch(url);
}
