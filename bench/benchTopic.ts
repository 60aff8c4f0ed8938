import type { TopicSpec } from "../src/domain/Topics.ts"

/** A benchmark topic: compressed as the producer sent it (the broker does no recompression), an hour's retention. */
export const benchTopic = (name: string, partitions: number, description: string): TopicSpec => ({
  name,
  partitions,
  retentionMs: 3_600_000,
  compression: "producer",
  cleanup: "delete",
  description
})
