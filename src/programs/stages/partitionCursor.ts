import type { TopicPartition } from "../../services/Bus.ts"
import { partitionKey } from "../../services/Sourced.ts"

/**
 * Per-partition state for one pass over a batch. Records arrive in runs from
 * one partition, so the state of the previous record is reused while the
 * partition stays the same: no key string and no map lookup per record.
 * One cursor per pass; `set` keeps it consistent when a state is replaced.
 */
export interface PartitionCursor<S> {
  readonly get: (tp: TopicPartition) => S | undefined
  readonly set: (tp: TopicPartition, state: S) => void
}

export const partitionCursor = <S>(states: Map<string, S>): PartitionCursor<S> => {
  let topic: string | undefined
  let partition = -1
  let current: S | undefined
  return {
    get: (tp) => {
      if (current !== undefined && tp.partition === partition && tp.topic === topic) return current
      const found = states.get(partitionKey(tp))
      if (found !== undefined) {
        topic = tp.topic
        partition = tp.partition
        current = found
      }
      return found
    },
    set: (tp, state) => {
      states.set(partitionKey(tp), state)
      topic = tp.topic
      partition = tp.partition
      current = state
    }
  }
}
