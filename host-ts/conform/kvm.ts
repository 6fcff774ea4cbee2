/**
 * The KVM and guest_memfd verbs (docs/scenarios.md, "KVM and guest_memfd"); the guest_memfd file itself
 * takes the mm verbs.
 */
import * as A from "../abi.gen.js";
import { AT_FDCWD, Bad, KVM_AT, NR, PATH_AT, Runner, STAT_AT, cstring, err, isErr } from "./runner.js";
import type { TokensHandler } from "./runner.js";

function op_kvm(u: Runner, tok: string[]) {
  u.writeUser(PATH_AT, cstring("/dev/kvm"));
  return u.bindFd(tok[1], u.sys(NR.openat, BigInt.asUintN(64, AT_FDCWD), PATH_AT, BigInt(A.O_RDWR), 0n));
}

function op_vm(u: Runner, tok: string[]) {
  const kfd = u.v(tok[2]), type = u.v(tok[3]);
  u.refuseFd(kfd);
  return u.bindFd(tok[1], u.sys(NR.ioctl, BigInt.asUintN(32, kfd), BigInt(A.KVM_CREATE_VM), type));
}

function op_cap(u: Runner, tok: string[]) {
  const op = tok[0];
  const cap = op === "cap";
  const fd = u.v(tok[1]), cmd = cap ? BigInt(A.KVM_CHECK_EXTENSION) : u.v(tok[2]), arg = u.v(tok[cap ? 2 : 3]);
  u.refuseFd(fd);
  const r = u.sys(NR.ioctl, BigInt.asUintN(32, fd), BigInt.asUintN(32, cmd), arg);
  return isErr(r) ? err(r) : `ok ${r}`;
}

function op_gmem(u: Runner, tok: string[]) {
  const G = A.kvm_create_guest_memfd;
  const vfd = u.v(tok[2]);
  const b = le(G.SIZEOF, [[G.size, u.v(tok[3]), 8], [G.flags, u.v(tok[4]), 8],
    [G.reserved0, tok.length > 5 ? u.v(tok[5]) : 0n, 8], [G.reserved5, tok.length > 6 ? u.v(tok[6]) : 0n, 8]]);
  u.refuseFd(vfd);
  u.writeUser(KVM_AT, b);
  return u.bindFd(tok[1], u.sys(NR.ioctl, BigInt.asUintN(32, vfd), BigInt(A.KVM_CREATE_GUEST_MEMFD), KVM_AT));
}

function op_slot(u: Runner, tok: string[]) {
  const op = tok[0];
  const two = op === "slot";
  const M = A.kvm_userspace_memory_region2;
  const vfd = u.v(tok[1]);
  const f: [number, bigint, 4 | 8][] = [[M.slot, u.v(tok[2]), 4], [M.flags, u.v(tok[3]), 4], [M.guest_phys_addr, u.v(tok[4]), 8],
    [M.memory_size, u.v(tok[5]), 8], [M.userspace_addr, u.v(tok[6]), 8]];
  if (two) f.push([M.guest_memfd, u.v(tok[7]), 4], [M.guest_memfd_offset, u.v(tok[8]), 8], [M.pad1, tok.length > 9 ? u.v(tok[9]) : 0n, 4]);
  u.refuseFd(vfd);
  u.writeUser(KVM_AT, le(two ? M.SIZEOF : A.kvm_userspace_memory_region.SIZEOF, f));
  const r = u.sys(NR.ioctl, BigInt.asUintN(32, vfd), BigInt(two ? A.KVM_SET_USER_MEMORY_REGION2 : A.KVM_SET_USER_MEMORY_REGION), KVM_AT);
  return isErr(r) ? err(r) : "ok";
}

function op_sameino(u: Runner, tok: string[]) {
  const a = u.v(tok[1]), b = u.v(tok[2]);
  const ino = (fd: bigint): bigint => {
    const r = u.sys(NR.fstat, BigInt.asUintN(32, fd), STAT_AT);
    if (isErr(r)) throw new Bad(err(r));
    return new DataView(u.readUser(STAT_AT, A.stat.SIZEOF).buffer).getBigUint64(A.stat.st_ino, true);
  };
  const ia = ino(a), ib = ino(b);
  return `ok ${ia === ib ? "same" : "differ"}`;
}

function op_lseek(u: Runner, tok: string[]) {
  const fd = u.v(tok[1]), off = u.v(tok[2]), wh = u.v(tok[3]);
  u.refuseFd(fd);
  const r = u.sys(NR.lseek, fd, off, wh);
  return isErr(r) ? err(r) : `ok ${r}`;
}

/** A little-endian structure of `size` bytes with the given [offset, value, width] fields. */
function le(size: number, fields: [number, bigint, 4 | 8][]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [o, v, w] of fields) {
    if (w === 8) dv.setBigUint64(o, BigInt.asUintN(64, v), true);
    else dv.setUint32(o, Number(BigInt.asUintN(32, v)), true);
  }
  return b;
}

/** The KVM verbs, by name. */
export const kvmVerbs: Record<string, TokensHandler> = {
  kvm: op_kvm,
  vm: op_vm,
  cap: op_cap,
  ioctlv: op_cap,
  gmem: op_gmem,
  slot: op_slot,
  slot1: op_slot,
  sameino: op_sameino,
  lseek: op_lseek,
};
