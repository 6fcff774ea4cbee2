// docs/playground.png, the README's picture of the playground: `uffdlab serve` from dist/cli.js,
// headless Chromium (/usr/bin/chromium, driven by playwright-core) at a laptop's 1366×768, one
// scenario paused part-way (pauseAt) so the page map, the log and the blocked threads all show.
// Run by `npm run screenshot` (which builds first). Deterministic: the same tree gives the same run.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = "/usr/bin/chromium";
const OUT = join(root, "docs/playground.png");
const SCENARIO = {
  memory: "shmem", mode: "minor", strategy: "continue", threadMode: "async", threads: 4, pages: 8192, touches: 1024, seed: 42,
  writePercent: 25, zeroPercent: 10, poisonPercent: 0, prefetch: 8, speed: 0, pauseAt: 1800,
};

if (!existsSync(CHROMIUM)) {
  console.error(`no ${CHROMIUM} (apt-get install chromium): cannot take the screenshot`);
  process.exit(1);
}
const server = spawn(process.execPath, [join(root, "dist/cli.js"), "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
try {
  const url = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) resolve(m[0]);
    });
    server.once("exit", (code) => reject(new Error(`uffdlab serve exited (${code}): ${out}`)));
  });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu"], headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
    const hash = new URLSearchParams(Object.entries(SCENARIO).map(([k, v]) => [k, String(v)]));
    await page.goto(`${url}#${hash}`, { waitUntil: "load" });
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.run === "paused", null, { timeout: 60_000 });
    await page.screenshot({ path: OUT });
  } finally {
    await browser.close();
  }
  console.log(`${OUT}: ${statSync(OUT).size} bytes`);
} finally {
  server.kill();
}
