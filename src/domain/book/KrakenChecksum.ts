import type { Level } from "../Events.ts"
import { crc32Ascii } from "./Crc32.ts"
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

export const krakenChecksum = (book: OrderBook, p: Precision = {}): number => crc32Ascii(krakenChecksumString(book, p))
