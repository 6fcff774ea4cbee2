// A /proc/pid/maps view of a process (fs/proc/task_mmu.c show_map_vma).
import * as A from "../abi.gen.js";
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";

/** One VMA, as {@link Process.vmas} lists them (a line of /proc/pid/maps as a record). */
export interface VmaInfo {
  /** The first address (vm_start). */
  start: number;
  /** One past the last address (vm_end). */
  end: number;
  /** offset into the file, in bytes */
  offset: number;
  /** vm_flags (VM_READ, VM_WRITE, VM_SHARED, VM_UFFD_MISSING, …: Linux's bits, abi.VM_*). */
  flags: bigint;
  /** The backing file's inode number (0 for anonymous memory). */
  ino: number;
  /** What backs it: private anonymous memory, shmem (memfd, MAP_SHARED anonymous) or a guest_memfd. */
  kind: "anon" | "shmem" | "guest_memfd";
  /** pages present in the page tables */
  rss: number;
  /** the path /proc/pid/maps shows: "/memfd:NAME (deleted)", "/dev/zero (deleted)", or "" */
  path: string;
}

const KINDS = ["anon", "shmem", "guest_memfd"] as const;

export function readVmas(k: Kernel, t: Thread): VmaInfo[] {
  const out: VmaInfo[] = [];
  const sz = A.maps_record.SIZEOF;
  for (;;) {
    const n = k.exports.mm_dump_vmas(t.handle, out.length);
    if (n < 0) throw new Error(`no address space for task ${t.tid}`);
    const dv = new DataView(t.bounce.buffer, t.bounce.byteOffset, A.BOUNCE_SIZE);
    for (let i = 0; i < n; i++) {
      const o = i * sz;
      out.push({
        start: Number(dv.getBigUint64(o + A.maps_record.vm_start, true)),
        end: Number(dv.getBigUint64(o + A.maps_record.vm_end, true)),
        offset: Number(dv.getBigUint64(o + A.maps_record.vm_pgoff, true)) * 4096,
        flags: dv.getBigUint64(o + A.maps_record.vm_flags, true),
        ino: Number(dv.getBigUint64(o + A.maps_record.ino, true)),
        kind: KINDS[dv.getUint32(o + A.maps_record.kind, true)] ?? "anon",
        rss: dv.getUint32(o + A.maps_record.rss, true),
        path: "",
      });
    }
    if (n < Math.floor(A.BOUNCE_SIZE / sz)) break;
  }
  const dec = new TextDecoder();
  out.forEach((v, i) => {
    const n = k.exports.mm_vma_name(t.handle, i);
    if (n === -2) v.path = "/dev/zero (deleted)";
    else if (n >= 0) v.path = `/memfd:${dec.decode(t.bounce.slice(0, n))} (deleted)`;
  });
  return out;
}

const hex = (n: number, w = 8) => n.toString(16).padStart(w, "0");

/** One line per VMA, as /proc/pid/maps prints it. */
export function formatMaps(vmas: VmaInfo[]): string {
  return vmas
    .map((v) => {
      const f = v.flags;
      const perms =
        (f & A.VM_READ ? "r" : "-") + (f & A.VM_WRITE ? "w" : "-") + (f & A.VM_EXEC ? "x" : "-") + (f & A.VM_MAYSHARE ? "s" : "p");
      const isFile = v.kind !== "anon";
      const dev = isFile ? "00:01" : "00:00";
      const name = v.kind === "guest_memfd" ? "anon_inode:[kvm-gmem]" : v.path;
      // show_vma_header_prefix ends with a space; a name is padded to column 73 (seq_pad).
      const head = `${hex(v.start)}-${hex(v.end)} ${perms} ${hex(isFile ? v.offset : 0)} ${dev} ${isFile ? v.ino : 0} `;
      return name ? head.padEnd(73) + name : head;
    })
    .join("\n");
}
