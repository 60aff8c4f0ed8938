import type { Level } from "../Events.ts"
import { CRC32_START, crc32Ascii, crc32Final, crc32Shift, crc32Step } from "./Crc32.ts"
import type { OrderBook } from "./OrderBook.ts"

/**
 * Kraken WebSocket v2 book checksum (docs "Book checksum (WebSocket v2)"):
 * top 10 asks low->high then top 10 bids high->low; for each level the price text
 * and then the qty text, with the "." removed and leading zeros stripped; CRC-32 of
 * the concatenation, unsigned.
 *
 * The digits are the WIRE digits, trailing zeros included (`0.00100000` -> `100000`),
 * which JSON.parse destroys; the Kraken mapper therefore parses numbers losslessly.
 * When a source lost them anyway (a re-serialised recording), pass the instrument
 * precision and each value is right-padded with zeros to that many decimals — the
 * same text Kraken would have sent.
 */
export interface Precision {
  readonly price?: number
  readonly size?: number
}

/** Pads the fraction of a plain decimal to `dp` digits (never truncates). */
const pad = (text: string, dp: number | undefined): string => {
  if (dp === undefined) return text
  const dot = text.indexOf(".")
  const have = dot < 0 ? 0 : text.length - dot - 1
  if (have >= dp) return text
  return (dot < 0 ? `${text}.` : text) + "0".repeat(dp - have)
}

const digits = (text: string): string => {
  const dot = text.indexOf(".")
  const s = dot < 0 ? text : text.slice(0, dot) + text.slice(dot + 1)
  let i = 0
  while (i < s.length && s.charCodeAt(i) === 48) i++
  return i === 0 ? s : s.slice(i)
}

const part = (levels: ReadonlyArray<Level>, p: Precision): string => {
  let s = ""
  for (const [price, size] of levels) s += digits(pad(price, p.price)) + digits(pad(size, p.size))
  return s
}

export const krakenChecksumString = (book: OrderBook, p: Precision = {}): string =>
  part(book.levels("ask", 10), p) + part(book.levels("bid", 10), p)

/** The checksum text, spelled out: the reference the streaming form below is tested against. */
export const krakenChecksumByString = (book: OrderBook, p: Precision = {}): number =>
  crc32Ascii(krakenChecksumString(book, p))

/** Asks first, then bids (the venue's order). */
const SIDES = ["ask", "bid"] as const

/** Bytes the last `feed` calls passed through the register (read by `segment`). */
let fed = 0

/**
 * Feeds one value's checksum digits into the CRC register without building the
 * string: the same characters `digits(pad(text, dp))` gives (dot dropped, leading
 * zeros skipped, the fraction padded to `dp`).
 */
const feed = (crc: number, text: string, dp: number | undefined): number => {
  const n = text.length
  let i = 0
  // Leading zeros (and a dot among them) are not part of the digits.
  for (; i < n; i++) {
    const ch = text.charCodeAt(i)
    if (ch !== 48 && ch !== 46) break
  }
  if (i === n) return crc // all zeros: padding would only add more leading zeros
  let c = crc
  for (; i < n; i++) {
    const ch = text.charCodeAt(i)
    if (ch !== 46) {
      c = crc32Step(c, ch)
      fed++
    }
  }
  if (dp !== undefined) {
    const dot = text.indexOf(".")
    for (let k = dot < 0 ? 0 : n - dot - 1; k < dp; k++) {
      c = crc32Step(c, 48)
      fed++
    }
  }
  return c
}

const TWO_32 = 4_294_967_296

/**
 * One level's part of the checksum: the CRC register its digits leave when fed
 * from zero, and how many bytes they are, packed in one number (bytes * 2^32 + register).
 */
const segment = (price: string, size: string, p: Precision): number => {
  fed = 0
  const c = feed(feed(0, price, p.price), size, p.size)
  return fed * TWO_32 + (c >>> 0)
}

/**
 * Runs after every Kraken book message. The CRC register is linear: feeding a
 * level's bytes from state c gives shift(c, bytes) XOR (the same bytes fed from
 * zero). So each level's from-zero part is kept with the level until its size
 * changes (OrderBook.derivedAt), and a message costs one table shift per level
 * for the 20 levels plus the digits of the levels that changed, instead of every
 * digit of the top 20 levels.
 */
export const krakenChecksum = (book: OrderBook, p: Precision = {}): number => {
  let c = CRC32_START
  for (const side of SIDES) {
    const n = Math.min(10, book.depth(side))
    for (let i = 0; i < n; i++) {
      const seg = book.derivedAt(side, i, p, segment)
      const bytes = Math.floor(seg / TWO_32)
      c = (crc32Shift(c, bytes) ^ (seg - bytes * TWO_32)) >>> 0
    }
  }
  return crc32Final(c)
}
