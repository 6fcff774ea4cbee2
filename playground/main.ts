// The playground page: a form for the scenario, the run driven turn by turn through the
// scheduler's onTurn hook (live, or one step at a time), and the views — the page map, the
// message log, the latency histogram, the counters and the threads. The scenario lives in the
// URL's fragment, so a link replays a run.
import {
  Playground, DEFAULT_SCENARIO, PAGE_STATES, STRATEGY_MODE, WORKERS_NOTE, WORKERS_REPRODUCIBLE, histogram, hex, reproducible, validate,
  type Histogram, type LogEntry, type RunResult, type Scenario, type TurnView,
} from "./engine.js";
import { conformScenario } from "./export.js";
import { PageMap, PALETTE } from "./map.js";

declare global {
  interface Window { __uffdlab_result?: unknown }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("scenario");
const statusEl = $("status");
const problemsEl = $("problems");
const runBtn = $<HTMLButtonElement>("run");
const stepBtn = $<HTMLButtonElement>("step");
const pauseBtn = $<HTMLButtonElement>("pause");
const replayBtn = $<HTMLButtonElement>("replay");
const jsonBtn = $<HTMLButtonElement>("export-json");
const scenBtn = $<HTMLButtonElement>("export-scenario");
const logBody = ($("log") as HTMLTableElement).tBodies[0];
const threadsBody = ($("threads-table") as HTMLTableElement).tBodies[0];
const LOG_ROWS = 400;

const iso = $("isolation");
iso.textContent = crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated";
iso.title = crossOriginIsolated
  ? "COOP/COEP are set: SharedArrayBuffer is available (Web Workers will share the kernel's memory)"
  : "No COOP/COEP headers: async threads still work on this page";
iso.classList.toggle("off", !crossOriginIsolated);

const map = new PageMap($<HTMLCanvasElement>("map"), (text, zoom) => {
  if (text !== null) $("map-cursor").textContent = text;
  $("zoom-level").textContent = `${zoom < 10 ? zoom.toFixed(1) : Math.round(zoom)}×`;
});
$("zoom-in").onclick = () => map.zoom(1.5);
$("zoom-out").onclick = () => map.zoom(1 / 1.5);
$("zoom-reset").onclick = () => map.fit();

// ---- the scenario form ----

const NUMBERS = ["threads", "pages", "touches", "writePercent", "zeroPercent", "poisonPercent", "prefetch", "seed"] as const;

function readForm(): Scenario {
  const f = new FormData(form);
  const s = { ...DEFAULT_SCENARIO } as Record<string, unknown>;
  for (const k of ["memory", "mode", "strategy", "threadMode"]) s[k] = String(f.get(k) ?? s[k]);
  for (const k of NUMBERS) {
    const v = String(f.get(k) ?? "").trim();
    s[k] = v === "" ? NaN : Number(v);
  }
  return s as unknown as Scenario;
}

function writeForm(s: Partial<Scenario>): void {
  for (const [k, v] of Object.entries(s)) {
    const el = form.elements.namedItem(k);
    if (el instanceof RadioNodeList) {
      for (const r of Array.from(el)) if (r instanceof HTMLInputElement) r.checked = r.value === String(v);
    } else if (el instanceof HTMLSelectElement) {
      if (!Array.from(el.options).some((o) => o.value === String(v))) el.add(new Option(String(v)));
      el.value = String(v);
    } else if (el instanceof HTMLInputElement) {
      el.value = String(v);
    }
  }
}

/** Page settings in the fragment beside the scenario: `speed` (turns per frame, 0 instant), `pauseAt` (a turn to pause before). */
function hashSetting(name: "speed" | "pauseAt"): number | null {
  const v = new URLSearchParams(location.hash.slice(1)).get(name);
  return v === null || v === "" || !Number.isFinite(Number(v)) ? null : Number(v);
}

function fromHash(): Partial<Scenario> {
  const q = new URLSearchParams(location.hash.slice(1));
  const s: Record<string, unknown> = {};
  for (const [k, v] of q) if (k in DEFAULT_SCENARIO) s[k] = (NUMBERS as readonly string[]).includes(k) ? Number(v) : v;
  return s as Partial<Scenario>;
}

function toHash(s: Scenario): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) q.set(k, String(v));
  const pauseAt = hashSetting("pauseAt");
  q.set("speed", ($("speed") as HTMLSelectElement).value);
  if (pauseAt !== null) q.set("pauseAt", String(pauseAt));
  history.replaceState(null, "", `#${q}`);
}

function check(): Scenario | null {
  const s = readForm();
  form.classList.toggle("is-missing", s.mode === "missing");
  form.classList.toggle("is-reap", s.strategy === "reap");
  const workers = s.threadMode === "workers";
  $("workers-why").textContent = workers ? `${WORKERS_NOTE} Reproducible for this handler: ${WORKERS_REPRODUCIBLE[s.strategy] ?? "—"}.` : "";
  const bad = validate(s);
  problemsEl.replaceChildren();
  if (bad.length) {
    const h = document.createElement("p");
    h.textContent = "This combination cannot run:";
    const ul = document.createElement("ul");
    for (const b of bad) {
      const li = document.createElement("li");
      li.textContent = b;
      ul.append(li);
    }
    problemsEl.append(h, ul);
  }
  runBtn.disabled = bad.length > 0 && !active;
  // Step needs the scheduler: Web Workers run free.
  stepBtn.disabled = (bad.length > 0 && !active) || (active ? active.pg.scenario.threadMode : s.threadMode) === "workers";
  return bad.length ? null : s;
}

form.addEventListener("input", (e) => {
  // Choosing a strategy chooses its mode (the other way round is left to the user, and explained).
  if ((e.target as HTMLElement).id === "strategy") writeForm({ mode: STRATEGY_MODE[readForm().strategy] });
  const s = check();
  if (s) toHash(s);
});

// ---- the views ----

function renderLegend(counts: number[] | null): void {
  const ul = $("legend");
  ul.replaceChildren();
  PAGE_STATES.forEach((name, i) => {
    const li = document.createElement("li");
    li.dataset.state = name;
    li.dataset.count = String(counts?.[i] ?? 0);
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = PALETTE[i];
    sw.setAttribute("aria-hidden", "true");
    const label = document.createElement("span");
    label.textContent = name;
    const n = document.createElement("strong");
    n.textContent = (counts?.[i] ?? 0).toLocaleString("en");
    li.append(sw, label, n);
    ul.append(li);
  });
}

function countStates(st: Uint8Array): number[] {
  const c = PAGE_STATES.map(() => 0);
  for (let i = 0; i < st.length; i++) c[st[i]]++;
  return c;
}

const COUNTER_NAMES: [keyof RunResult["counters"], string, string][] = [
  ["faults", "faults", "PAGEFAULT messages read from the userfaultfd"],
  ["copies", "COPY", "successful UFFDIO_COPY ioctls"], ["zeropages", "ZEROPAGE", "successful UFFDIO_ZEROPAGE ioctls"],
  ["continues", "CONTINUE", "successful UFFDIO_CONTINUE ioctls"],
  ["wpResolves", "WP off", "UFFDIO_WRITEPROTECT calls that resolved a write-protect fault"],
  ["poisons", "POISON", "successful UFFDIO_POISON ioctls"], ["wakes", "WAKE", "UFFDIO_WAKE ioctls"],
  ["eexist", "EEXIST", "fills that found the page already there (another message for a filled page)"],
  ["eagain", "EAGAIN", "fills refused while the address space changed (mmap_changing)"],
  ["sigbus", "SIGBUS", "accesses that raised SIGBUS (poisoned pages)"],
  ["accesses", "accesses", "loads and stores the faulting threads made"], ["turns", "turns", "scheduler turns granted"],
];

function renderCounters(c: Partial<RunResult["counters"]>): void {
  const dl = $("counters");
  dl.replaceChildren();
  for (const [k, label, title] of COUNTER_NAMES) {
    const div = document.createElement("div");
    div.dataset.counter = k;
    div.title = title;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = String(c[k] ?? 0);
    div.append(dt, dd);
    dl.append(div);
  }
}

const US = (n: number) => (n >= 1000 ? `${n / 1000}ms` : `${n}µs`);

function renderHistogram(lat: number[], unit: Histogram["unit"] = "turns"): void {
  const h = histogram(lat, unit);
  $("hist-unit").textContent = unit === "µs"
    ? "(wall time of each access in its Web Worker, fault and wait included)"
    : "(scheduler turns from the access to its completion)";
  const labels = unit === "µs"
    ? ["0", ...h.bounds.map((b, i) => (b < 0 ? `>${US(h.bounds[i - 1])}` : i === 0 ? `≤${US(b)}` : `≤${US(b)}`))]
    : ["0", ...h.bounds.map((b, i) => (b < 0 ? `>${h.bounds[i - 1]}` : i === 0 ? "1" : h.bounds[i - 1] + 1 === b ? `${b}` : `${h.bounds[i - 1] + 1}–${b}`))];
  // Buckets up to the last one used (at least six), so the labels stay readable.
  let used = 1 + h.counts.length;
  while (used > 6 && h.counts[used - 2] === 0) used--;
  // In µs every access has a time: no "no wait" bar.
  const skip = unit === "µs" ? 1 : 0;
  const counts = [h.immediate, ...h.counts].slice(skip, used);
  labels.splice(0, skip);
  const max = Math.max(1, ...counts);
  const W = 300, H = 120, bw = W / counts.length;
  const bars = counts.map((c, i) => {
    const bh = Math.round((c / max) * (H - 30));
    return `<g><title>${labels[i]} turns: ${c} accesses</title>` +
      `<rect x="${i * bw + 2}" y="${H - 18 - bh}" width="${bw - 4}" height="${bh}" fill="${i === 0 ? "#9a9aa5" : "#0072b2"}"/>` +
      (c ? `<text x="${i * bw + bw / 2}" y="${H - 21 - bh}" text-anchor="middle" class="n">${c}</text>` : "") +
      `<text x="${i * bw + bw / 2}" y="${H - 5}" text-anchor="middle">${labels[i]}</text></g>`;
  }).join("");
  if (unit === "µs") {
    const most = lat.length ? labels[h.counts.indexOf(Math.max(...h.counts))] : "";
    const summary = `${lat.length} accesses` + (lat.length ? `; most took ${most}` : "");
    $("histogram").innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${summary}">${bars}</svg><p class="hint">${summary}. Filled when the workers finish; the grey bar: no fault to speak of.</p>`;
    return;
  }
  const faulted = counts.slice(1).reduce((a, b) => a + b, 0);
  const summary = `${lat.length} accesses: ${h.immediate} without a wait, ${faulted} waited` +
    (faulted ? `; most waited ${labels[1 + h.counts.indexOf(Math.max(...h.counts))]} turns` : "");
  $("histogram").innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${summary}">${bars}</svg><p class="hint">${summary}. The grey bar: no wait.</p>`;
}

function renderThreads(v: TurnView, workers = false): void {
  $("turn-info").textContent = workers ? `— ${v.turn} ms, no scheduler` : v.pick ? `— turn ${v.turn + 1} goes to tid ${v.pick}` : `— ${v.turn} turns`;
  threadsBody.replaceChildren();
  for (const t of v.threads) {
    const tr = document.createElement("tr");
    if (t.tid === v.pick) tr.className = "next";
    // A blocked faulter waits in its userfault; the handler waits in poll() for the next message.
    const doing = t.state === "blocked" && t.role === "faulter" ? `userfault: ${t.doing}` : t.doing;
    for (const text of [String(t.tid), t.role, t.state, doing]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.cells[2].className = `st-${t.state}`;
    threadsBody.append(tr);
  }
}

let pendingLog: LogEntry[] = [];
let logCount = 0;
function flushLog(): void {
  const frag = document.createDocumentFragment();
  for (const e of pendingLog.slice(-LOG_ROWS)) {
    const tr = document.createElement("tr");
    for (const text of [e.seq, e.turn, e.kind, e.flags, hex(e.address), e.page, e.tid, e.action]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    frag.append(tr);
  }
  logCount += pendingLog.length;
  pendingLog = [];
  logBody.append(frag);
  while (logBody.rows.length > LOG_ROWS) logBody.deleteRow(0);
  $("log-count").textContent = `(${logCount}${logCount > LOG_ROWS ? `, last ${LOG_ROWS} shown` : ""})`;
  const scroller = logBody.closest(".log-scroll")!;
  scroller.scrollTop = scroller.scrollHeight;
}

// ---- running ----

class Aborted extends Error {}
interface Active { pg: Playground; paused: boolean; step: (() => void) | null; aborted: boolean }
let active: Active | null = null;
let last: { scenario: Scenario; result: RunResult } | null = null;

function status(text: string): void { statusEl.textContent = text; }

function render(pg: Playground, v: TurnView): void {
  const st = pg.states();
  map.update(st);
  renderLegend(countStates(st));
  const workers = pg.scenario.threadMode === "workers";
  renderCounters({ ...pg.counters, turns: workers ? 0 : v.turn });
  renderHistogram(pg.latencies, workers ? "µs" : "turns");
  renderThreads(v, workers);
  flushLog();
}

const frame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

async function start(paused: boolean, s: Scenario | null = check()): Promise<void> {
  if (!s) return;
  stop();
  toHash(s);
  status(`Booting a kernel for ${s.pages.toLocaleString("en")} pages…`);
  window.__uffdlab_result = undefined;
  logBody.replaceChildren();
  pendingLog = [];
  logCount = 0;
  let pg: Playground;
  try {
    pg = await Playground.setup(s);
  } catch (e) {
    status(`Setup failed: ${(e as Error).message}`);
    window.__uffdlab_result = { error: String(e) };
    return;
  }
  const workers = s.threadMode === "workers";
  if (workers) paused = false; // no scheduler to pause: the workers run free
  $("log-time").textContent = workers ? "ms" : "turn";
  const me: Active = { pg, paused, step: null, aborted: false };
  active = me;
  updateButtons();
  map.setRegion(s.pages, pg.region);
  render(pg, pg.view());
  const speed = () => Number(($("speed") as HTMLSelectElement).value);
  let since = 0;
  const pauseAt = workers ? 0 : hashSetting("pauseAt") ?? 0;
  document.body.dataset.run = paused ? "paused" : "running";
  status(paused ? "Paused before the first turn: Step advances one turn." : workers ? `Running ${s.threads} Web Workers…` : "Running…");
  let lastPaint = 0;
  try {
    const result = await pg.run({
      message: (e) => pendingLog.push(e),
      turn: workers ? (v) => {
        // Between the handler's polls: repaint at most once a frame, never wait (the workers run on).
        if (me.aborted) throw new Aborted("stopped");
        const now = performance.now();
        if (speed() > 0 && now - lastPaint > 16) {
          lastPaint = now;
          render(pg, v);
        }
      } : async (v) => {
        if (me.aborted) throw new Aborted("stopped");
        if (pauseAt > 0 && v.turn + 1 === pauseAt) {
          me.paused = true;
          updateButtons();
          status(`Paused before turn ${pauseAt} (pauseAt in the URL): Step advances one turn, Resume runs on.`);
        }
        if (me.paused) {
          document.body.dataset.run = "paused";
          render(pg, v);
          await new Promise<void>((r) => (me.step = r));
          me.step = null;
          if (me.aborted) throw new Aborted("stopped");
          document.body.dataset.run = me.paused ? "paused" : "running";
        } else if (speed() > 0 && ++since >= speed()) {
          since = 0;
          render(pg, v);
          await frame();
        }
      },
    });
    render(pg, pg.view());
    renderCounters(result.counters);
    const prev = last && JSON.stringify(last.scenario) === JSON.stringify(s) ? last.result : null;
    last = { scenario: s, result };
    let same = "";
    if (prev && workers) {
      // Web Workers: only the timing-independent part can repeat (WORKERS_REPRODUCIBLE).
      same = JSON.stringify(reproducible(prev)) === JSON.stringify(reproducible(result))
        ? " — replay identical where reproducible: same page map, same digest" : " — replay DIFFERS";
    } else if (prev) {
      same = prev.digest === result.digest && prev.schedule.join() === result.schedule.join() ? " — replay identical: same schedule, same digest" : " — replay DIFFERS";
    }
    status(workers
      ? `Done: ${s.threads} Web Workers, ${result.counters.faults} faults (this run's; the count varies), digest ${result.digest}${same}.`
      : `Done: ${result.counters.turns} turns, ${result.counters.faults} faults, digest ${result.digest}${same}.`);
    window.__uffdlab_result = {
      scenario: result.scenario, pageCounts: result.pageCounts, messageCounts: result.messageCounts, counters: result.counters,
      digest: result.digest, turns: result.schedule.length, crossOriginIsolated, faultedPages: result.faultedPages,
      reproducible: reproducible(result), logLength: result.log.length,
    };
  } catch (e) {
    if (!(e instanceof Aborted)) {
      status(`The run failed: ${(e as Error).message}`);
      window.__uffdlab_result = { error: String(e) };
    }
  } finally {
    if (active === me) {
      active = null;
      document.body.dataset.run = "done";
    }
    updateButtons();
  }
}

function stop(): void {
  if (!active) return;
  active.aborted = true;
  active.step?.();
  active = null;
}

function updateButtons(): void {
  pauseBtn.disabled = !active || active.pg.scenario.threadMode === "workers";
  pauseBtn.textContent = active?.paused ? "Resume" : "Pause";
  replayBtn.disabled = !last;
  jsonBtn.disabled = !last;
  scenBtn.disabled = !last;
  runBtn.textContent = active ? "Restart" : "Run";
  check();
}

function step(): void {
  if ((active?.pg.scenario ?? readForm()).threadMode === "workers") { status("Step needs the async scheduler: Web Workers run free."); return; }
  if (!active) { void start(true); return; }
  if (!active.paused) { active.paused = true; updateButtons(); status("Paused: Step advances one turn."); return; }
  active.step?.();
}

function pause(): void {
  if (!active || active.pg.scenario.threadMode === "workers") return;
  active.paused = !active.paused;
  if (!active.paused) { active.step?.(); status("Running…"); } else status("Paused: Step advances one turn.");
  updateButtons();
}

form.addEventListener("submit", (e) => { e.preventDefault(); void start(false); });
stepBtn.onclick = step;
pauseBtn.onclick = pause;
replayBtn.onclick = () => {
  if (!last) return;
  writeForm(last.scenario);
  void start(false, last.scenario);
};
document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || t.closest("input, select, textarea")) return;
  if (e.key === "s") { e.preventDefault(); step(); }
  else if (e.key === "p") { e.preventDefault(); pause(); }
});

function download(name: string, text: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
jsonBtn.onclick = () => {
  if (!last) return;
  download(`uffdlab-run-${last.scenario.strategy}-seed${last.scenario.seed}.json`, JSON.stringify(last.result, null, 1));
};
scenBtn.onclick = () => {
  if (!last) return;
  const x = conformScenario(last.scenario, last.result.log);
  if (!x.file) { status(`No conform scenario for this run: ${x.why}.`); return; }
  download(`${x.file.name}.json`, JSON.stringify(x.file, null, 1) + "\n");
  status(`Saved ${x.file.name}.json: run it with \`npx uffdlab conform ${x.file.name}.json\`.`);
};

writeForm(fromHash());
if (hashSetting("speed") !== null) ($("speed") as HTMLSelectElement).value = String(hashSetting("speed"));
renderLegend(null);
renderCounters({});
renderHistogram([]);
renderThreads({ turn: 0, pick: 0, threads: [] });
updateButtons();
