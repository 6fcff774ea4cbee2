// The playground in Chromium, served by the real `uffdlab serve` (dist/cli.js, cross-origin
// isolated): one scenario per handler strategy in both thread modes, run from the page's own
// controls. Async: the page map's counts (its legend), the message counts, the counters and the
// final memory digest equal what the same scenario gives in Node (playground/engine.ts). Web
// Workers (faulters in Web Workers, the handler polling on the page's main thread): the part of
// the run that does not depend on timing (engine.ts's reproducible(): page map, digest, fills,
// SIGBUS, faulted or dirty pages) equals Node's async run; no timing is asserted. Step mode advances one scheduler
// turn per click; the exports and the replay button give the run back. The same page served
// without COOP/COEP runs too (async threads; Web Workers are refused with
// the reason). Screenshots go to a temp dir.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import type { Browser, Page } from "playwright-core";
import { CHROMIUM_MISSING, file, haveChromium, launchChromium, serve } from "../helpers/browser.js";
import { startServe } from "../helpers/serve.js";
import { DEFAULT_SCENARIO, reproducible, runScenario, type RunResult, type Scenario } from "../../playground/engine.js";
import { conformScenario } from "../../playground/export.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** One per strategy; small regions so each runs in well under a second. */
const CASES: [string, Partial<Scenario>][] = [
  ["copy", { memory: "anon", mode: "missing", strategy: "copy", pages: 4096, touches: 256, zeroPercent: 10 }],
  ["reap", { memory: "anon", mode: "missing", strategy: "reap", pages: 16384, touches: 512, poisonPercent: 5, seed: 7 }],
  ["continue", { memory: "guest_memfd", mode: "minor", strategy: "continue", pages: 1024, touches: 200, seed: 3 }],
  ["wp-dirty", { memory: "shmem", mode: "wp", strategy: "wp-dirty", pages: 2048, touches: 300, writePercent: 40, seed: 11 }],
];

type PageResult = {
  scenario: Scenario; pageCounts: RunResult["pageCounts"]; messageCounts: Record<string, number>; counters: RunResult["counters"];
  digest: string; turns: number; crossOriginIsolated: boolean; faultedPages: number; reproducible: Record<string, unknown>;
  logLength: number; error?: string;
};

const fragment = (s: Scenario) => "#" + new URLSearchParams({ ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)])), speed: "0" });

async function openPage(browser: Browser, url: string, log: string[]): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(url, { waitUntil: "load" });
  return page;
}

/** A hang guard only: a run takes about a second. */
const HANG_MS = 150_000;

async function runOnPage(page: Page, log: string[]): Promise<PageResult> {
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.waitForFunction(() => window.__uffdlab_result !== undefined, null, { timeout: HANG_MS }).catch((e: Error) => {
    throw new Error(`no result: ${e.message}\n${log.join("\n")}`);
  });
  const r = (await page.evaluate(() => window.__uffdlab_result)) as PageResult;
  expect(r.error, log.join("\n")).toBeUndefined();
  return r;
}

/** What the page shows: the legend's count per page state, the counters, the log's message count. */
async function shown(page: Page) {
  const legend = Object.fromEntries(await page.$$eval("#legend li", (lis) => lis.map((li) => [(li as HTMLElement).dataset.state!, Number((li as HTMLElement).dataset.count)])));
  const counters = Object.fromEntries(await page.$$eval("#counters > div", (ds) => ds.map((d) => [(d as HTMLElement).dataset.counter!, Number(d.querySelector("dd")!.textContent)])));
  const logCount = Number(/\((\d+)/.exec((await page.textContent("#log-count")) ?? "")?.[1] ?? NaN);
  return { legend, counters, logCount };
}

describe.skipIf(!haveChromium)(`the playground in Chromium, served by uffdlab serve${haveChromium ? "" : ` — skipped: ${CHROMIUM_MISSING}`}`, () => {
  let browser: Browser;
  let server: ChildProcess | null = null;
  let url = "";
  const shots = mkdtempSync(join(tmpdir(), "uffdlab-playground-"));

  beforeAll(async () => {
    const s = await startServe();
    server = s.child;
    url = s.url;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    console.log(`playground screenshots: ${shots}`);
  });

  for (const [name, o] of CASES) {
    it(`${name}: the page's map counts, messages and digest equal Node's`, async () => {
      const s: Scenario = { ...DEFAULT_SCENARIO, ...o };
      const log: string[] = [];
      const page = await openPage(browser, url + fragment(s), log);
      try {
        const r = await runOnPage(page, log);
        const node = await runScenario(s);
        expect(r.crossOriginIsolated).toBe(true);
        expect(r.scenario).toEqual(s);
        expect(r.digest).toBe(node.digest);
        expect(r.pageCounts).toEqual(node.pageCounts);
        expect(r.messageCounts).toEqual(node.messageCounts);
        expect(r.counters).toEqual(node.counters);
        expect(r.turns).toBe(node.schedule.length);
        const ui = await shown(page);
        expect(ui.legend).toEqual(node.pageCounts);
        expect(ui.logCount).toBe(node.log.length);
        expect(ui.counters.faults).toBe(node.counters.faults);
        expect(ui.counters.eexist).toBe(node.counters.eexist);
        expect(r.reproducible).toEqual(reproducible(node));
        if (name === "copy") {
          // The exports are the run: JSON with Node's digest, and the conform scenario Node's log gives.
          const [json] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export run (JSON)" }).click()]);
          const run = JSON.parse(readFileSync(await json.path(), "utf8")) as RunResult;
          expect(run.digest).toBe(node.digest);
          expect(run.log.length).toBe(node.log.length);
          const [scen] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export conform scenario" }).click()]);
          expect(JSON.parse(readFileSync(await scen.path(), "utf8"))).toEqual(conformScenario(s, node.log).file);
          // Replay: the same seed again, and the page says the schedule and the memory are identical.
          await page.evaluate(() => { window.__uffdlab_result = undefined; });
          await page.getByRole("button", { name: "Replay seed" }).click();
          await page.waitForFunction(() => window.__uffdlab_result !== undefined);
          expect(await page.textContent("#status")).toContain(`digest ${node.digest} — replay identical: same schedule, same digest`);
        }
        const png = join(shots, `${name}.png`);
        await page.screenshot({ path: png });
        expect(statSync(png).size).toBeGreaterThan(10_000);
      } finally {
        await page.context().close();
      }
    }, HANG_MS + 30_000);
  }

  for (const [name, o] of CASES) {
    it(`${name} in Web Workers: the page map, digest and what else cannot depend on timing equal Node's async run`, async () => {
      const s: Scenario = { ...DEFAULT_SCENARIO, ...o, threadMode: "workers" };
      const log: string[] = [];
      const page = await openPage(browser, url + fragment(s), log);
      try {
        expect(await page.textContent("#workers-why")).toMatch(/not the\s+interleaving/);
        expect(await page.isDisabled("#step")).toBe(true);
        const r = await runOnPage(page, log);
        const node = await runScenario({ ...s, threadMode: "async" });
        expect(r.crossOriginIsolated).toBe(true);
        expect(r.scenario).toEqual(s);
        expect(r.turns).toBe(0);                                   // no scheduler: the workers ran free
        expect(r.reproducible).toEqual(reproducible(node));
        expect(r.digest).toBe(node.digest);
        expect(r.pageCounts).toEqual(node.pageCounts);
        const ui = await shown(page);
        expect(ui.legend).toEqual(node.pageCounts);
        expect(ui.logCount).toBe(r.logLength);
        expect(ui.counters.faults).toBe(r.counters.faults);
        // What timing decides is still bounded: a message per faulted page at least, one per access at most.
        expect(r.counters.faults).toBeGreaterThanOrEqual(r.faultedPages);
        expect(r.counters.faults).toBeLessThanOrEqual(node.counters.accesses);
        expect(await page.textContent("#hist-unit")).toMatch(/wall time/);
        const png = join(shots, `${name}-workers.png`);
        await page.screenshot({ path: png });
        expect(statSync(png).size).toBeGreaterThan(10_000);
      } finally {
        await page.context().close();
      }
    }, HANG_MS + 30_000);
  }

  it("step mode: each Step is one scheduler turn, the threads table shows who is blocked; Resume finishes like Node", async () => {
    const s: Scenario = { ...DEFAULT_SCENARIO, pages: 256, touches: 40, threads: 3 };
    const log: string[] = [];
    const page = await openPage(browser, url + fragment(s), log);
    try {
      const step = page.getByRole("button", { name: "Step", exact: true });
      await step.click();                                         // set up, paused before turn 1
      await page.waitForFunction(() => document.body.dataset.run === "paused");
      const turns = () => page.textContent('#counters [data-counter="turns"] dd').then(Number);
      expect(await turns()).toBe(0);
      for (let i = 1; i <= 12; i++) {
        await step.click();
        await page.waitForFunction((n) => document.querySelector('#counters [data-counter="turns"] dd')?.textContent === String(n), i);
      }
      const rows = await page.$$eval("#threads-table tbody tr", (trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (c) => c.textContent)));
      expect(rows.length).toBe(4);                                // 3 faulters + the handler
      expect(rows.some((r) => r[2] === "blocked" && /^userfault: (load8|store8) page \d+ @0x/.test(r[3] ?? ""))).toBe(true);
      expect(await page.textContent("#turn-info")).toMatch(/turn 13 goes to tid \d+/);
      await page.getByRole("button", { name: "Resume", exact: true }).click();
      const r = await runOnPage_afterResume(page, log);
      expect(r.digest).toBe((await runScenario(s)).digest);
    } finally {
      await page.context().close();
    }
  });

  it("without cross-origin isolation (no COOP/COEP) the page runs the same", async () => {
    const dir = join(root, "dist/playground");
    const plain = await serve((p) => file(join(dir, p === "/" ? "index.html" : p)), { isolated: false });
    const s: Scenario = { ...DEFAULT_SCENARIO, ...CASES[0][1] };
    const log: string[] = [];
    const page = await openPage(browser, plain.url + fragment(s), log);
    try {
      const r = await runOnPage(page, log);
      expect(r.crossOriginIsolated).toBe(false);
      expect(await page.textContent("#isolation")).toBe("not cross-origin isolated");
      expect(r.digest).toBe((await runScenario(s)).digest);
      // Web Workers cannot share the kernel's memory here: the page says why and will not run them.
      await page.check('input[name="threadMode"][value="workers"]');
      expect(await page.textContent("#problems")).toMatch(/only on a cross-origin isolated page.*uffdlab serve/);
      expect(await page.isDisabled("#run")).toBe(true);
    } finally {
      await page.context().close();
      await plain.close();
    }
  });
});

async function runOnPage_afterResume(page: Page, log: string[]): Promise<PageResult> {
  await page.waitForFunction(() => window.__uffdlab_result !== undefined, null, { timeout: 60_000 }).catch((e: Error) => {
    throw new Error(`no result: ${e.message}\n${log.join("\n")}`);
  });
  return (await page.evaluate(() => window.__uffdlab_result)) as PageResult;
}
