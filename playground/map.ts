// The page map: one cell per page of the region, coloured by its state, on a canvas. Drawn from
// a 1-pixel-per-page image (or, when a cell is smaller than a pixel, from blocks of pages showing
// the most notable state in the block), so a million pages cost one pass per frame.
import { PAGE_STATES } from "./engine.js";

/** Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), by PAGE_STATES index. */
export const PALETTE = ["#e4e4ea", "#56b4e9", "#0072b2", "#f0e442", "#e69f00", "#1b1b1b"] as const;
/** Which state a block of pages shows when cells are smaller than a pixel (higher wins). */
const RANK = [0, 2, 3, 1, 4, 5];
const RGB = PALETTE.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
const MAX_CELL = 64;

export class PageMap {
  private pages = 0;
  private region = 0;
  private cols = 1;
  private rows = 1;
  private states: Uint8Array = new Uint8Array(0);
  private scale = 1;
  private ox = 0;
  private oy = 0;
  private fitScale = 1;
  private cursor = -1;
  private readonly img = document.createElement("canvas");
  private drag: { x: number; y: number; ox: number; oy: number } | null = null;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly report: (text: string | null, zoom: number) => void) {
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = canvas.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    canvas.addEventListener("pointerdown", (e) => {
      this.drag = { x: e.clientX, y: e.clientY, ox: this.ox, oy: this.oy };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointerup", (e) => {
      if (this.drag && Math.abs(e.clientX - this.drag.x) + Math.abs(e.clientY - this.drag.y) < 4) {
        const r = canvas.getBoundingClientRect();
        const p = this.pageAt(e.clientX - r.left, e.clientY - r.top);
        if (p >= 0) this.setCursor(p);
      }
      this.drag = null;
    });
    canvas.addEventListener("pointermove", (e) => {
      const r = canvas.getBoundingClientRect();
      if (this.drag) {
        this.ox = this.drag.ox + e.clientX - this.drag.x;
        this.oy = this.drag.oy + e.clientY - this.drag.y;
        this.clamp();
        this.draw();
      } else {
        const p = this.pageAt(e.clientX - r.left, e.clientY - r.top);
        if (p >= 0) this.describe(p);
      }
    });
    canvas.addEventListener("keydown", (e) => this.key(e));
  }

  /** A new region: `pages` cells, the first at address `region`. */
  setRegion(pages: number, region: number): void {
    this.pages = pages;
    this.region = region;
    this.states = new Uint8Array(pages);
    this.cursor = -1;
    this.layout();
  }

  update(states: Uint8Array): void {
    this.states = states;
    this.paintImage();
    this.draw();
    if (this.cursor >= 0) this.describe(this.cursor);
  }

  zoom(f: number, cx = this.canvas.clientWidth / 2, cy = this.canvas.clientHeight / 2): void {
    const s = Math.min(MAX_CELL, Math.max(this.fitScale, this.scale * f));
    this.ox = cx - ((cx - this.ox) * s) / this.scale;
    this.oy = cy - ((cy - this.oy) * s) / this.scale;
    this.scale = s;
    this.clamp();
    this.paintImage();
    this.draw();
    this.report(null, this.scale / this.fitScale);
  }

  fit(): void {
    this.scale = this.fitScale;
    this.ox = (this.canvas.clientWidth - this.cols * this.scale) / 2;
    this.oy = (this.canvas.clientHeight - this.rows * this.scale) / 2;
    this.paintImage();
    this.draw();
    this.report(null, 1);
  }

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    this.canvas.height = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    this.layout();
  }

  private layout(): void {
    const w = this.canvas.clientWidth || 1, h = this.canvas.clientHeight || 1;
    const n = Math.max(1, this.pages);
    this.cols = Math.max(1, Math.ceil(Math.sqrt((n * w) / h)));
    this.rows = Math.ceil(n / this.cols);
    this.fitScale = Math.min(w / this.cols, h / this.rows, MAX_CELL);
    this.fit();
  }

  private clamp(): void {
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    const gw = this.cols * this.scale, gh = this.rows * this.scale;
    this.ox = gw <= w ? (w - gw) / 2 : Math.min(0, Math.max(w - gw, this.ox));
    this.oy = gh <= h ? (h - gh) / 2 : Math.min(0, Math.max(h - gh, this.oy));
  }

  /** The offscreen image: one pixel per page, or per block of b×b pages when cells are under a pixel. */
  private block = 1;
  private paintImage(): void {
    const b = this.scale >= 1 ? 1 : Math.ceil(1 / this.scale);
    this.block = b;
    const w = Math.ceil(this.cols / b), h = Math.ceil(this.rows / b);
    this.img.width = w;
    this.img.height = h;
    const ctx = this.img.getContext("2d")!;
    const data = ctx.createImageData(w, h);
    const best = new Uint8Array(w * h);
    const st = this.states;
    for (let i = 0; i < this.pages; i++) {
      const s = st[i] ?? 0;
      const x = (i % this.cols) / b | 0, y = (i / this.cols | 0) / b | 0;
      const j = y * w + x;
      if (RANK[s] + 1 > best[j]) best[j] = RANK[s] + 1;
    }
    const byRank = RANK.map((_, r) => RANK.indexOf(r));
    for (let j = 0; j < w * h; j++) {
      const o = j * 4;
      if (best[j] === 0) { data.data[o + 3] = 0; continue; }
      const c = RGB[byRank[best[j] - 1]];
      data.data[o] = c[0]; data.data[o + 1] = c[1]; data.data[o + 2] = c[2]; data.data[o + 3] = 255;
    }
    ctx.putImageData(data, 0, 0);
  }

  private draw(): void {
    const ctx = this.canvas.getContext("2d")!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.canvas.clientWidth, this.canvas.clientHeight);
    ctx.imageSmoothingEnabled = false;
    const s = this.scale;
    ctx.drawImage(this.img, this.ox, this.oy, this.img.width * this.block * s, this.img.height * this.block * s);
    if (s >= 6) {
      // Gaps between cells, so single pages read as cells.
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
      const c0 = Math.max(0, Math.floor(-this.ox / s)), c1 = Math.min(this.cols, Math.ceil((w - this.ox) / s));
      const r0 = Math.max(0, Math.floor(-this.oy / s)), r1 = Math.min(this.rows, Math.ceil((h - this.oy) / s));
      for (let c = c0; c <= c1; c++) { ctx.moveTo(this.ox + c * s, this.oy + r0 * s); ctx.lineTo(this.ox + c * s, this.oy + r1 * s); }
      for (let r = r0; r <= r1; r++) { ctx.moveTo(this.ox + c0 * s, this.oy + r * s); ctx.lineTo(this.ox + c1 * s, this.oy + r * s); }
      ctx.stroke();
    }
    if (this.cursor >= 0) {
      const x = this.ox + (this.cursor % this.cols) * s, y = this.oy + Math.floor(this.cursor / this.cols) * s;
      const m = Math.max(s, 6);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#000";
      ctx.strokeRect(x - (m - s) / 2 - 1, y - (m - s) / 2 - 1, m + 2, m + 2);
      ctx.strokeStyle = "#fff";
      ctx.strokeRect(x - (m - s) / 2 + 1, y - (m - s) / 2 + 1, m - 2, m - 2);
    }
  }

  private pageAt(x: number, y: number): number {
    const c = Math.floor((x - this.ox) / this.scale), r = Math.floor((y - this.oy) / this.scale);
    if (c < 0 || r < 0 || c >= this.cols || r >= this.rows) return -1;
    const p = r * this.cols + c;
    return p < this.pages ? p : -1;
  }

  private describe(p: number): void {
    const name = PAGE_STATES[this.states[p] ?? 0];
    this.report(`Page ${p} (0x${(this.region + p * 4096).toString(16)}): ${name}`, this.scale / this.fitScale);
  }

  private setCursor(p: number): void {
    this.cursor = Math.max(0, Math.min(this.pages - 1, p));
    // Keep the cursor in view.
    const s = this.scale, w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    const x = this.ox + (this.cursor % this.cols) * s, y = this.oy + Math.floor(this.cursor / this.cols) * s;
    if (x < 0) this.ox -= x; else if (x + s > w) this.ox -= x + s - w;
    if (y < 0) this.oy -= y; else if (y + s > h) this.oy -= y + s - h;
    this.clamp();
    this.draw();
    this.describe(this.cursor);
  }

  private key(e: KeyboardEvent): void {
    const c = this.cursor < 0 ? 0 : this.cursor;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -this.cols, ArrowDown: this.cols };
    if (e.key in moves) {
      this.setCursor(this.cursor < 0 ? 0 : c + moves[e.key] * (e.shiftKey ? 16 : 1));
    } else if (e.key === "+" || e.key === "=") {
      this.zoom(1.5);
    } else if (e.key === "-") {
      this.zoom(1 / 1.5);
    } else if (e.key === "0") {
      this.fit();
    } else if (e.key === "Home") {
      this.setCursor(0);
    } else if (e.key === "End") {
      this.setCursor(this.pages - 1);
    } else return;
    e.preventDefault();
    if (this.cursor >= 0) this.describe(this.cursor);
    else this.report(null, this.scale / this.fitScale);
  }
}
