import { type Decimal, unsafeDecimal } from "../../Decimal.ts"
import type { Level } from "../../Events.ts"
import { ANY_STR, DEC, INT, STR } from "../common/FastPatterns.ts"

/**
 * Fast path for the most frequent Binance book frame, a diff-depth event in the
 * exact shape the venue sends (with or without the combined-stream wrapper):
 *
 *   {"stream":"…","data":{"e":"depthUpdate","E":…,"s":"…","U":…,"u":…,"b":[["p","q"],…],"a":[…]}}
 *
 * Matched piecewise against the text (see FastPatterns.ts for the accept-a-subset
 * contract): anything else returns undefined and goes through JSON.parse and the
 * field guards. Symbol splitting and the `U <= u` check stay with the normalizer,
 * shared by both paths.
 */
export interface DepthFrame {
  readonly native: string
  /** Event time `E` in wire units. */
  readonly E: number
  readonly U: number
  readonly u: number
  readonly bids: Array<Level>
  readonly asks: Array<Level>
}

const HEAD = new RegExp(
  String.raw`^(\{"stream":"${ANY_STR}","data":)?\{"e":"depthUpdate","E":${INT},"s":"${STR}","U":${INT},"u":${INT},"b":\[`
)
/** One level and what follows it: `,` (more) or `]` (the last, captured). */
const LEVEL = new RegExp(String.raw`\["${DEC}","${DEC}"\](?:,|(\]))`, "y")
const ASKS = ',"a":['

/** Levels from `at` (just after the opening bracket); returns the index after the closing one, or -1. */
const levels = (text: string, at: number, out: Array<Level>): number => {
  if (text.charCodeAt(at) === 93) return at + 1
  LEVEL.lastIndex = at
  for (;;) {
    const m = LEVEL.exec(text)
    if (m === null) return -1
    out.push([unsafeDecimal(m[1] as string), unsafeDecimal(m[2] as string)] as [Decimal, Decimal])
    if (m[3] !== undefined) return LEVEL.lastIndex
  }
}

export const fastDepth = (text: string): DepthFrame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const bids: Array<Level> = []
  let i = levels(text, h[0].length, bids)
  if (i < 0 || !text.startsWith(ASKS, i)) return undefined
  const asks: Array<Level> = []
  i = levels(text, i + ASKS.length, asks)
  if (i < 0) return undefined
  const tail = h[1] === undefined ? "}" : "}}"
  if (text.length !== i + tail.length || !text.endsWith(tail)) return undefined
  return { native: h[3] as string, E: Number(h[2]), U: Number(h[4]), u: Number(h[5]), bids, asks }
}
