// `uffdlab serve`: the playground (dist/playground/, built by scripts/build.mjs) on a loopback
// HTTP server, cross-origin isolated (COOP same-origin + COEP require-corp), so the page may use
// SharedArrayBuffer and Web Workers sharing the kernel's memory.
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";

/** The port `uffdlab serve` listens on unless told otherwise (`--port 0`: any free port). */
export const DEFAULT_PORT = 4280;
/** Loopback only: the playground is for the person at this machine. */
export const HOST = "127.0.0.1";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png", ".svg": "image/svg+xml", ".map": "application/json",
};

/** The headers of every response: cross-origin isolation, and nothing cached across rebuilds. */
export const HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-cache",
} as const;

/** dist/playground/ beside this module (the CLI runs as dist/cli.js). */
export function playgroundDir(): string {
  return fileURLToPath(new URL("./playground/", import.meta.url));
}

/** Start the server; resolves once listening, with its URL. Rejects with a clear Error if the port is taken. */
export async function startServer(opts: { port?: number; dir?: string } = {}): Promise<{ url: string; server: Server }> {
  const dir = opts.dir ?? playgroundDir();
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port must be an integer in [0, 65535], got ${port}`);
  try {
    await stat(join(dir, "index.html"));
  } catch {
    throw new Error(`no playground at ${dir}: build it first (node scripts/build.mjs)`);
  }
  const server = createServer(async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...HEADERS, Allow: "GET, HEAD" }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400, HEADERS).end();
      return;
    }
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) {
      res.writeHead(403, HEADERS).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...HEADERS, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { ...HEADERS, "Content-Type": "text/plain; charset=utf-8" }).end(`not found: ${path}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(e.code === "EADDRINUSE"
        ? new Error(`port ${port} on ${HOST} is in use: choose another with --port N (--port 0 picks a free one)`)
        : e);
    });
    server.listen(port, HOST, () => resolve());
  });
  return { url: `http://${HOST}:${(server.address() as AddressInfo).port}/`, server };
}

/** Open `url` in the default browser if a launcher exists; false (and no exception) if not. */
export function openBrowser(url: string): Promise<boolean> {
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd, args as string[], { stdio: "ignore", detached: true });
      child.once("error", () => resolve(false));
      child.once("spawn", () => { child.unref(); resolve(true); });
    } catch {
      resolve(false);
    }
  });
}

/** The CLI command: serve until interrupted. */
export async function serve(opts: { port?: number; open?: boolean }): Promise<void> {
  const { url, server } = await startServer({ port: opts.port });
  console.log(`uffdlab playground: ${url}  (cross-origin isolated; Ctrl-C stops)`);
  if (opts.open && !(await openBrowser(url))) console.log(`no browser launcher found: open ${url} yourself`);
  const close = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
  process.once("SIGINT", close);
  process.once("SIGTERM", close);
}
