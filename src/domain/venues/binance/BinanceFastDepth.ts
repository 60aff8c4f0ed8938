import type { Level } from "../../Events.ts"
import { ANY_STR, DEC, INT, readLevels, STR } from "../common/FastPatterns.ts"

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

export const fastDepth = (text: string): DepthFrame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const bids: Array<Level> = []
  let i = readLevels(LEVEL, text, h[0].length, bids)
  if (i < 0 || !text.startsWith(ASKS, i)) return undefined
  const asks: Array<Level> = []
  i = readLevels(LEVEL, text, i + ASKS.length, asks)
  if (i < 0) return undefined
  const tail = h[1] === undefined ? "}" : "}}"
  if (text.length !== i + tail.length || !text.endsWith(tail)) return undefined
  return { native: h[3] as string, E: Number(h[2]), U: Number(h[4]), u: Number(h[5]), bids, asks }
}
