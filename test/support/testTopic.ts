import type { TopicSpec } from "../../src/domain/Topics.ts"

/** A test topic: an hour's retention (long enough for any test, short enough that a shared broker cleans up after itself), lz4, deleted by retention. */
export const testTopic = (name: string, partitions: number, description: string): TopicSpec => ({
  name,
  partitions,
  retentionMs: 3_600_000,
  compression: "lz4",
  cleanup: "delete",
  description
})
