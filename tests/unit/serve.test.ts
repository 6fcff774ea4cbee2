// `uffdlab serve` (host-ts/serve.ts) as a user runs it, from dist/cli.js: loopback only,
// cross-origin isolation headers on every response, the built playground, no path escapes,
// and a clear error for a port that is taken.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { startServe } from "../helpers/serve.js";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist/cli.js");

/** A raw GET (no URL normalisation by the client). */
function get(url: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("uffdlab serve", () => {
  let child: ChildProcess | null = null;
  afterEach(() => { child?.kill(); child = null; });

  it("serves the playground on 127.0.0.1, cross-origin isolated", async () => {
    const s = await startServe();
    child = s.child;
    const index = await get(s.url, "/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.headers["cross-origin-opener-policy"]).toBe("same-origin");
    expect(index.headers["cross-origin-embedder-policy"]).toBe("require-corp");
    expect(index.body).toContain("uffdlab playground");
    const js = readdirSync(join(root, "dist/playground/assets")).find((f) => f.startsWith("index-") && f.endsWith(".js"))!;
    const asset = await get(s.url, `/assets/${js}`);
    expect(asset.status).toBe(200);
    expect(asset.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(asset.headers["cross-origin-embedder-policy"]).toBe("require-corp");
    const missing = await get(s.url, "/nope.js");
    expect(missing.status).toBe(404);
    expect(missing.headers["cross-origin-opener-policy"]).toBe("same-origin");
    expect((await get(s.url, "/..%2F..%2Fpackage.json")).status).toBe(403);   // decoded after URL parsing: a path escape
    expect((await get(s.url, "/../../package.json")).status).not.toBe(200);
  });

  it("a port in use is a clear error (exit status 1), and --port must be a number", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (busy.address() as AddressInfo).port;
      const r = spawnSync(process.execPath, [cli, "serve", "--port", String(port)], { encoding: "utf8", timeout: 30_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is in use: choose another with --port N`);
    } finally {
      busy.close();
    }
    const bad = spawnSync(process.execPath, [cli, "serve", "--port", "http"], { encoding: "utf8", timeout: 30_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--port must be a number");
  });

  it("--open without a browser launcher still serves and says where", async () => {
    const s = await new Promise<{ url: string; child: ChildProcess; out: () => string }>((resolve, reject) => {
      const c = spawn(process.execPath, [cli, "serve", "--port", "0", "--open"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: "/nonexistent" } });
      let out = "";
      c.stdout!.on("data", (d: Buffer) => {
        out += d;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m && /no browser launcher found/.test(out)) resolve({ url: m[0], child: c, out: () => out });
      });
      c.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    child = s.child;
    expect(s.out()).toContain(`no browser launcher found: open ${s.url} yourself`);
    expect((await get(s.url, "/")).status).toBe(200);
  });
});
