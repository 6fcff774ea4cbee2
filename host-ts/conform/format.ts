// Normalised result lines, shared by the uffdlab runner and the scenario tools. The C oracle
// (tests/oracle/oracle.c) prints the same forms; docs/scenarios.md describes them.

/** FNV-1a 64 of the bytes, as 16 hex digits (computed in two 32-bit halves, no BigInt per byte). */
export function fnv1a64(bytes: Uint8Array): string {
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    // h *= 0x100000001b3 (mod 2^64), i.e. h * 0x1b3 + (h << 40)
    const loMul = lo * 0x1b3; // < 2^41: exact
    const carry = Math.floor(loMul / 0x100000000);
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0; // every term < 2^42: exact
    lo = loMul >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/** The digest words of a load/read result: `digest=HEX16 first=0xHH nonzero=N` (bytes non-empty). */
export function digestOf(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new Error("digestOf needs at least one byte");
  let nonzero = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) nonzero++;
  return `digest=${fnv1a64(bytes)} first=0x${bytes[0].toString(16).padStart(2, "0")} nonzero=${nonzero}`;
}

/** `$NAME`, `$NAME+0xD` or `$NAME-0xD` for addr, given the name's value. */
export function formatRelative(name: string, base: bigint, addr: bigint): string {
  const d = BigInt.asIntN(64, BigInt.asUintN(64, addr - base));
  if (d === 0n) return `$${name}`;
  return d > 0n ? `$${name}+0x${d.toString(16)}` : `$${name}-0x${(-d).toString(16)}`;
}

// errno names exactly as the oracle spells them (first match wins: EOPNOTSUPP, not ENOTSUP)
const ERRNAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC", 9: "EBADF",
  10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK", 16: "EBUSY", 17: "EEXIST",
  18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
  26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM",
  34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG", 37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP",
  61: "ENODATA", 75: "EOVERFLOW", 77: "EBADFD", 95: "EOPNOTSUPP", 110: "ETIMEDOUT", 126: "ENOKEY", 133: "EHWPOISON",
};
export const errname = (e: number): string => ERRNAMES[e] ?? `E${e}`;

const SEGV_CODES = ["", "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR",
  "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"];
const BUS_CODES = ["", "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"];
export const SI_KERNEL = 0x80;
export function codename(sig: number, code: number): string {
  if (sig === 11 && code > 0 && code < SEGV_CODES.length) return SEGV_CODES[code];
  if (sig === 7 && code > 0 && code < BUS_CODES.length) return BUS_CODES[code];
  if (code === SI_KERNEL) return "SI_KERNEL";
  if (code === 0) return "SI_USER";
  if (code === -6) return "SI_TKILL";
  return String(code);
}

/** The oracle's `clean()`: printable ASCII, at most 40 characters, ".." if cut. */
export function clean(s: string): string {
  let b = "";
  let i = 0;
  for (; i < s.length && i < 40; i++) {
    const c = s.charCodeAt(i);
    b += c > 0x20 && c < 0x7f ? s[i] : "?";
  }
  return i < s.length ? b + ".." : b;
}

/** The kind of a result line: ok, err, sig, blocked or bad. */
export function resultKind(line: string): "ok" | "err" | "sig" | "blocked" | "bad" | "other" {
  const w = line.split(" ", 1)[0];
  return w === "ok" || w === "err" || w === "sig" || w === "blocked" || w === "bad" ? w : "other";
}
