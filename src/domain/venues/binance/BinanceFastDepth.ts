import type { Level } from "../../Events.ts"
import { attempt, Scan } from "../common/FastScan.ts"

/**
 * Fast path for the most frequent Binance book frame, a diff-depth event in the
 * exact shape the venue sends (with or without the combined-stream wrapper):
 *
 *   {"stream":"…","data":{"e":"depthUpdate","E":…,"s":"…","U":…,"u":…,"b":[["p","q"],…],"a":[…]}}
 *
 * Read straight from the text (see FastScan.ts for the accept-a-subset contract):
 * anything else returns undefined and goes through JSON.parse and the field guards.
 * Symbol splitting and the `U <= u` check stay with the normalizer, shared by both paths.
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

const OPEN = 91 // [
const CLOSE = 93 // ]
const COMMA = 44

const levels = (s: Scan): Array<Level> => {
  s.ch(OPEN)
  const out: Array<Level> = []
  if (s.maybe(CLOSE)) return out
  do {
    s.ch(OPEN)
    const p = s.decimal()
    s.ch(COMMA)
    const q = s.decimal()
    s.ch(CLOSE)
    out.push([p, q])
  } while (s.maybe(COMMA))
  s.ch(CLOSE)
  return out
}

const decode = (text: string): DepthFrame => {
  const s = new Scan(text)
  let wrapped = false
  if (s.maybeLit('{"stream":')) {
    s.skipStr()
    s.lit(',"data":')
    wrapped = true
  }
  s.lit('{"e":"depthUpdate","E":')
  const E = s.uint()
  s.lit(',"s":')
  const native = s.str(true)
  s.lit(',"U":')
  const U = s.uint()
  s.lit(',"u":')
  const u = s.uint()
  s.lit(',"b":')
  const bids = levels(s)
  s.lit(',"a":')
  const asks = levels(s)
  s.lit(wrapped ? "}}" : "}")
  s.end()
  return { native, E, U, u, bids, asks }
}

export const fastDepth = (text: string): DepthFrame | undefined =>
  // Cheap discriminator first: other frames never pay for a declined scan.
  text.indexOf('{"e":"depthUpdate"') < 0 ? undefined : attempt(decode, text)
