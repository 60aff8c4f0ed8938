import type { Level } from "../../Events.ts"
import type { EpochMicros } from "../../Time.ts"
import { attempt, decline, Scan } from "../common/FastScan.ts"
import { rfc3339Text } from "../common/Wire.ts"

/**
 * Fast path for Coinbase Advanced Trade level2 frames in the exact shape the
 * venue sends, one product per frame:
 *
 *   {"channel":"l2_data","timestamp":"…","sequence_num":N,"events":[{"type":"update"|"snapshot",
 *    "product_id":"…","updates":[{"side":"bid"|"offer","event_time":"…","price_level":"…","new_quantity":"…"},…]}]}
 *
 * Anything else declines to the general path (FastScan.ts); times that are not
 * RFC 3339 decline too, so the general path reports them. Sequence checks, book
 * upkeep and the product's symbol check stay with the normalizer, shared by both paths.
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

const time = (s: Scan): EpochMicros => rfc3339Text(s.str(true)) ?? decline()

const decode = (text: string): L2Frame => {
  const s = new Scan(text)
  s.lit('{"channel":"l2_data","timestamp":')
  const messageTs = time(s)
  s.lit(',"sequence_num":')
  const seq = s.uint()
  s.lit(',"events":[{"type":"')
  const snapshot = s.maybeLit('snapshot"')
  if (!snapshot) s.lit('update"')
  s.lit(',"product_id":')
  const product = s.str(true)
  s.lit(',"updates":[')
  const bids: Array<Level> = []
  const asks: Array<Level> = []
  let eventTs: EpochMicros | undefined
  if (!s.maybe(93)) {
    do {
      s.lit('{"side":"')
      const bid = s.maybeLit('bid"')
      if (!bid) s.lit('offer"')
      s.lit(',"event_time":')
      const t = time(s)
      s.lit(',"price_level":')
      const price = s.decimal()
      s.lit(',"new_quantity":')
      const size = s.decimal()
      s.ch(125) // }
      ;(bid ? bids : asks).push([price, size])
      if (eventTs === undefined || t > eventTs) eventTs = t
    } while (s.maybe(44))
    s.ch(93) // ]
  }
  s.lit("}]}")
  s.end()
  return { messageTs, seq, snapshot, product, bids, asks, eventTs }
}

export const fastL2 = (text: string): L2Frame | undefined =>
  text.startsWith('{"channel":"l2_data"') ? attempt(decode, text) : undefined
