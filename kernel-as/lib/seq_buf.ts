// Text into a kernel buffer (lib/seq_buf.c, fs/seq_file.c's seq_puts / seq_put_decimal_ull /
// seq_put_hex_ll): each call writes at `p` and returns the new end; the caller bounds the total.

/** Append the ASCII string `s`. */
export function seq_puts(p: usize, s: string): usize {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return p + <usize>s.length;
}

/** Append `v` in base `base` (10 or 16; lower case, no prefix). */
function seq_put_num(p: usize, v: u64, base: u64): usize {
  let n: i32 = 0;
  let x = v;
  do { n++; x /= base; } while (x != 0);
  let q = p + <usize>n;
  x = v;
  do {
    let d = <u32>(x % base);
    q--;
    store<u8>(q, <u8>(d < 10 ? 48 + d : 87 + d));
    x /= base;
  } while (x != 0);
  return p + <usize>n;
}

/** seq_put_decimal_ull */
export function seq_put_decimal(p: usize, v: u64): usize { return seq_put_num(p, v, 10); }

/** seq_put_hex_ll without a prefix */
export function seq_put_hex(p: usize, v: u64): usize { return seq_put_num(p, v, 16); }
