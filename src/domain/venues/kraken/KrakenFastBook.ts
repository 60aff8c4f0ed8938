import type { Level } from "../../Events.ts"
import { attempt, Scan } from "../common/FastScan.ts"

/**
 * Fast path for Kraken v2 book frames in the exact shape the venue sends, one
 * book per frame:
 *
 *   {"channel":"book","type":"update"|"snapshot","data":[{"symbol":"…",
 *    "bids":[{"price":<num>,"qty":<num>},…],"asks":[…],"checksum":<int>(,"timestamp":"…")?}]}
 *
 * Numbers are read as their wire text (the checksum needs those digits), like the
 * lossless parser does. Exponents, signs, whitespace, other key orders, extra
 * fields or several books in one frame decline to the general path (FastScan.ts).
 * The timestamp is returned as text: the normalizer parses it as the general
 * path does, and declines when it is not RFC 3339.
 */
export interface BookFrame {
  readonly snapshot: boolean
  readonly native: string
  readonly bids: Array<Level>
  readonly asks: Array<Level>
  readonly checksum: number
  readonly timestamp: string | undefined
}

const CLOSE = 93 // ]
const COMMA = 44

const levels = (s: Scan): Array<Level> => {
  s.ch(91) // [
  const out: Array<Level> = []
  if (s.maybe(CLOSE)) return out
  do {
    s.lit('{"price":')
    const p = s.bareDecimal()
    s.lit(',"qty":')
    const q = s.bareDecimal()
    s.ch(125) // }
    out.push([p, q])
  } while (s.maybe(COMMA))
  s.ch(CLOSE)
  return out
}

const decode = (text: string): BookFrame => {
  const s = new Scan(text)
  s.lit('{"channel":"book","type":"')
  const snapshot = s.maybeLit('snapshot"')
  if (!snapshot) s.lit('update"')
  s.lit(',"data":[{"symbol":')
  const native = s.str(true)
  s.lit(',"bids":')
  const bids = levels(s)
  s.lit(',"asks":')
  const asks = levels(s)
  s.lit(',"checksum":')
  const checksum = s.uint()
  const timestamp = s.maybeLit(',"timestamp":') ? s.str(true) : undefined
  s.lit("}]}")
  s.end()
  return { snapshot, native, bids, asks, checksum, timestamp }
}

export const fastBook = (text: string): BookFrame | undefined =>
  text.startsWith('{"channel":"book"') ? attempt(decode, text) : undefined
