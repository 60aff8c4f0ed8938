/**
 * CRC-32 (ISO-HDLC / zlib polynomial 0xEDB88320, reflected, init and xorout
 * 0xFFFFFFFF) over the bytes of an ASCII string, as an unsigned 32-bit integer.
 * Written out here so the domain stays free of Node modules; the test checks it
 * against `zlib.crc32`.
 */
const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** One step of the running CRC register (start 0xFFFFFFFF, finish with crc32Final). */
export const crc32Step = (crc: number, byte: number): number => (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)

export const CRC32_START = 0xffffffff

export const crc32Final = (crc: number): number => (crc ^ 0xffffffff) >>> 0

/** Only for ASCII text (checksum strings are digits): each char code is one byte. */
export const crc32Ascii = (s: string): number => {
  let c = 0xffffffff
  for (let i = 0; i < s.length; i++) c = (TABLE[(c ^ s.charCodeAt(i)) & 0xff] as number) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/**
 * Shift tables: feeding `n` zero bytes is linear in the register, so it is four
 * lookups (one per register byte) in tables built once per `n` on first use.
 * Used to combine CRCs of parts computed separately (KrakenChecksum.ts).
 */
const SHIFTS: Array<Uint32Array | undefined> = []
const MAX_SHIFT = 64

const shiftTables = (n: number): Uint32Array => {
  const t = new Uint32Array(1024)
  for (let k = 0; k < 4; k++) {
    for (let b = 0; b < 256; b++) {
      let v = (b << (8 * k)) >>> 0
      for (let i = 0; i < n; i++) v = ((TABLE[v & 0xff] as number) ^ (v >>> 8)) >>> 0
      t[k * 256 + b] = v
    }
  }
  SHIFTS[n] = t
  return t
}

/** The register after `n` zero bytes: what `crc32Step(c, 0)` repeated n times gives. */
export const crc32Shift = (crc: number, n: number): number => {
  let c = crc >>> 0
  let left = n
  while (left > 0) {
    const k = Math.min(left, MAX_SHIFT)
    const t = SHIFTS[k] ?? shiftTables(k)
    c =
      ((t[c & 0xff] as number) ^
        (t[256 + ((c >>> 8) & 0xff)] as number) ^
        (t[512 + ((c >>> 16) & 0xff)] as number) ^
        (t[768 + (c >>> 24)] as number)) >>>
      0
    left -= k
  }
  return c
}
