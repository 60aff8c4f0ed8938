import type { TopicPartition } from "./Bus.ts"

/**
 * A value with the bus coordinates it was read from. Stores that need more than
 * natural-key idempotence (the ClickHouse materialized view, the Parquet
 * manifest) use the coordinates to recognise a redelivered record.
 */
export interface Sourced<A> extends TopicPartition {
  readonly offset: number
  readonly value: A
}

/**
 * A partition for which a store still holds records that are not durable yet
 * (the Parquet archive keeps open files): every offset >= `lowest` must not be
 * committed. Stores that write synchronously report none.
 */
export interface PendingFloor extends TopicPartition {
  readonly lowest: number
}

export type Pending = ReadonlyArray<PendingFloor>

export const nothingPending: Pending = []

export const partitionKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`
