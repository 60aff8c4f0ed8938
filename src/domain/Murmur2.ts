/**
 * Kafka's default partitioner for keyed records (Java `Utils.murmur2` with seed
 * 0x9747b28c, then `toPositive(hash) % numPartitions`). librdkafka's
 * `murmur2_random` and Redpanda clients use the same function, so a key lands on
 * the same partition number in the in-memory bus, the Kafka bus and any Java client.
 */
const SEED = 0x9747b28c
const M = 0x5bd1e995

export const murmur2 = (data: Uint8Array): number => {
  const length = data.length
  let h = (SEED ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2
    let k = (data[i4] ?? 0) | ((data[i4 + 1] ?? 0) << 8) | ((data[i4 + 2] ?? 0) << 16) | ((data[i4 + 3] ?? 0) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length4 << 2
  const rest = length & 3
  if (rest === 3) h ^= (data[tail + 2] ?? 0) << 16
  if (rest >= 2) h ^= (data[tail + 1] ?? 0) << 8
  if (rest >= 1) {
    h ^= data[tail] ?? 0
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

const encoder = new TextEncoder()

/** Partition for a key, as Kafka's default partitioner computes it. */
export const partitionForKey = (key: string | Uint8Array, partitions: number): number => {
  const bytes = typeof key === "string" ? encoder.encode(key) : key
  return (murmur2(bytes) & 0x7fffffff) % partitions
}
