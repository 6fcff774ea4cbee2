// `uffdlab serve` as a user starts it: dist/cli.js in a child process, on a free port.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** Start `uffdlab serve --port 0 ...args`; resolves with the URL it prints and the child (kill it when done). */
export function startServe(args: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [cli, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) resolve({ url: m[0], child });
    });
    child.stderr!.on("data", (d: Buffer) => { out += d; });
    child.once("exit", (code) => reject(new Error(`uffdlab serve exited (${code}): ${out}`)));
  });
}
