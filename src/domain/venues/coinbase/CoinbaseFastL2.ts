import { type Decimal, unsafeDecimal } from "../../Decimal.ts"
import type { Level } from "../../Events.ts"
import type { EpochMicros } from "../../Time.ts"
import { DEC, INT, readItems, STR } from "../common/FastPatterns.ts"
import { rfc3339Text } from "../common/Wire.ts"

/**
 * Fast path for Coinbase Advanced Trade level2 frames in the exact shape the
 * venue sends, one product per frame:
 *
 *   {"channel":"l2_data","timestamp":"…","sequence_num":N,"events":[{"type":"update"|"snapshot",
 *    "product_id":"…","updates":[{"side":"bid"|"offer","event_time":"…","price_level":"…","new_quantity":"…"},…]}]}
 *
 * Anything else returns undefined and the general path decides (FastPatterns.ts);
 * times that are not RFC 3339 too, so the general path reports them. Sequence
 * checks, book upkeep and the product's symbol check stay with the normalizer,
 * shared by both paths.
 */
export interface L2Frame {
  readonly messageTs: EpochMicros
  readonly seq: number
  readonly snapshot: boolean
  readonly product: string
  readonly bids: Array<Level>
  readonly asks: Array<Level>
  /** The latest `event_time` among the updates (undefined when there are none). */
  readonly eventTs: EpochMicros | undefined
}

const HEAD = new RegExp(
  String.raw`^\{"channel":"l2_data","timestamp":"${STR}","sequence_num":${INT},"events":\[\{"type":"(update|snapshot)","product_id":"${STR}","updates":\[`
)
/** One update and what follows it: `,` (more) or `]` (the last, captured). */
const UPDATE = new RegExp(
  String.raw`\{"side":"(bid|offer)","event_time":"${STR}","price_level":"${DEC}","new_quantity":"${DEC}"\}(?:,|(\]))`,
  "y"
)
const TAIL = "}]}"

export const fastL2 = (text: string): L2Frame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const messageTs = rfc3339Text(h[1] as string)
  if (messageTs === undefined) return undefined
  const bids: Array<Level> = []
  const asks: Array<Level> = []
  let eventTs: EpochMicros | undefined
  const i = readItems(UPDATE, text, h[0].length, (m) => {
    const t = rfc3339Text(m[2] as string)
    if (t === undefined) return false
    const level = [unsafeDecimal(m[3] as string), unsafeDecimal(m[4] as string)] as [Decimal, Decimal]
    if (m[1] === "bid") bids.push(level)
    else asks.push(level)
    if (eventTs === undefined || t > eventTs) eventTs = t
    return true
  })
  if (i < 0) return undefined
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return undefined
  return { messageTs, seq: Number(h[2]), snapshot: h[3] === "snapshot", product: h[4] as string, bids, asks, eventTs }
}
