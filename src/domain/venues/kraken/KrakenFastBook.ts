import type { Level } from "../../Events.ts"
import { DEC, INT, readLevels, STR } from "../common/FastPatterns.ts"

/**
 * Fast path for Kraken v2 book frames in the exact shape the venue sends, one
 * book per frame:
 *
 *   {"channel":"book","type":"update"|"snapshot","data":[{"symbol":"…",
 *    "bids":[{"price":<num>,"qty":<num>},…],"asks":[…],"checksum":<int>(,"timestamp":"…")?}]}
 *
 * Numbers are captured as their wire text (the checksum needs those digits), as
 * the lossless parser keeps them. Exponents, signs, whitespace, other key orders,
 * extra fields or several books in one frame return undefined: the general path
 * decides (FastPatterns.ts). The timestamp is returned as text; the normalizer
 * parses it as the general path does, and declines when it is not RFC 3339.
 */
export interface BookFrame {
  readonly snapshot: boolean
  readonly native: string
  readonly bids: Array<Level>
  readonly asks: Array<Level>
  readonly checksum: number
  readonly timestamp: string | undefined
}

const HEAD = new RegExp(
  String.raw`^\{"channel":"book","type":"(snapshot|update)","data":\[\{"symbol":"${STR}","bids":\[`
)
/** One level and what follows it: `,` (more) or `]` (the last, captured). */
const LEVEL = new RegExp(String.raw`\{"price":${DEC},"qty":${DEC}\}(?:,|(\]))`, "y")
const ASKS = ',"asks":['
const TAIL = new RegExp(String.raw`,"checksum":${INT}(?:,"timestamp":"${STR}")?\}\]\}$`, "y")

export const fastBook = (text: string): BookFrame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const bids: Array<Level> = []
  let i = readLevels(LEVEL, text, h[0].length, bids)
  if (i < 0 || !text.startsWith(ASKS, i)) return undefined
  const asks: Array<Level> = []
  i = readLevels(LEVEL, text, i + ASKS.length, asks)
  if (i < 0) return undefined
  TAIL.lastIndex = i
  const t = TAIL.exec(text)
  if (t === null) return undefined
  return { snapshot: h[1] === "snapshot", native: h[2] as string, bids, asks, checksum: Number(t[1]), timestamp: t[2] }
}
