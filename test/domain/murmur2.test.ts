import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { murmur2, partitionForKey } from "../../src/domain/Murmur2.ts"

/**
 * Known key -> partition vectors, computed by Kafka's own Java code, not ours:
 * `Utils.murmur2` and `BuiltInPartitioner.partitionForKey` (what the Java
 * producer uses for keyed records) from kafka-clients 4.1.0 on Maven Central.
 *
 * Regenerate with JDK 17:
 *   mvn -q dependency:get -Dartifact=org.apache.kafka:kafka-clients:4.1.0
 *   mvn -q dependency:get -Dartifact=org.slf4j:slf4j-api:1.7.36
 *   java -cp ~/.m2/repository/org/apache/kafka/kafka-clients/4.1.0/kafka-clients-4.1.0.jar:\
 *     ~/.m2/repository/org/slf4j/slf4j-api/1.7.36/slf4j-api-1.7.36.jar Vec.java
 * (slf4j only because Utils logs; its "no binding" warning on stderr is harmless)
 * with this Vec.java, whose output lines map one to one onto VECTORS below:
 *
 * import java.nio.charset.StandardCharsets;
 * import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
 * import org.apache.kafka.common.utils.Utils;
 *
 * public class Vec {
 *   static void row(String label, byte[] b) {
 *     StringBuilder sb = new StringBuilder();
 *     sb.append(label).append(" murmur2=").append(Utils.murmur2(b)).append(" partitions=");
 *     int[] ns = {1, 3, 6, 12, 64};
 *     for (int i = 0; i < ns.length; i++) {
 *       if (i > 0) sb.append(',');
 *       sb.append(BuiltInPartitioner.partitionForKey(b, ns[i]));
 *     }
 *     System.out.println(sb);
 *   }
 *   public static void main(String[] args) {
 *     String[] keys = {
 *       "", "a", "ab", "abc", "abcd", "abcde", "kafka", "marketflow",
 *       "binance:BTC-USDT", "binance:ETH-USDT", "binance:SOL-USDT", "coinbase:BTC-USD",
 *       "coinbase:ETH-USD", "kraken:BTC-USD", "kraken:XBT-EUR", "binance:*",
 *       "\u00e9", "\u20ac", "\u20acuro", "\ud83d\ude80", "k\u00f6ln:\u00fc-\u00e4\u00df"
 *     };
 *     for (String k : keys) {
 *       StringBuilder esc = new StringBuilder();
 *       for (char c : k.toCharArray()) {
 *         if (c < 0x80) esc.append(c); else esc.append(String.format("\\u%04x", (int) c));
 *       }
 *       row("\"" + esc + "\"", k.getBytes(StandardCharsets.UTF_8));
 *     }
 *     row("bytes[ff,80,00,7f,fe]", new byte[] {(byte) 0xff, (byte) 0x80, 0x00, 0x7f, (byte) 0xfe});
 *   }
 * }
 */
const PARTITION_COUNTS = [1, 3, 6, 12, 64] as const

const bytes = (...b: ReadonlyArray<number>) => new Uint8Array(b)

// [key, Utils.murmur2(utf8(key)), partition for each of PARTITION_COUNTS]
const VECTORS: ReadonlyArray<readonly [string | Uint8Array, number, ReadonlyArray<number>]> = [
  ["", 275646681, [0, 0, 3, 9, 25]],
  ["a", -1563381124, [0, 1, 4, 4, 60]],
  ["ab", 316155434, [0, 2, 2, 2, 42]],
  ["abc", 479470107, [0, 0, 3, 3, 27]],
  ["abcd", -1323649548, [0, 2, 2, 8, 52]],
  ["abcde", 461995741, [0, 1, 1, 1, 29]],
  ["kafka", -798503068, [0, 1, 4, 4, 36]],
  ["marketflow", 184267404, [0, 0, 0, 0, 12]],
  ["binance:BTC-USDT", 646878651, [0, 0, 3, 3, 59]],
  ["binance:ETH-USDT", 331253766, [0, 0, 0, 6, 6]],
  ["binance:SOL-USDT", 1644223164, [0, 0, 0, 0, 60]],
  ["coinbase:BTC-USD", 300975881, [0, 2, 5, 5, 9]],
  ["coinbase:ETH-USD", 870579068, [0, 2, 2, 8, 60]],
  ["kraken:BTC-USD", 1292765858, [0, 2, 2, 2, 34]],
  ["kraken:XBT-EUR", 1066525174, [0, 1, 4, 10, 54]],
  ["binance:*", -717618606, [0, 2, 2, 2, 18]],
  ["\u00e9", 186971271, [0, 0, 3, 3, 7]],
  ["\u20ac", -1352192002, [0, 1, 4, 10, 62]],
  ["\u20acuro", -1348700560, [0, 1, 4, 4, 48]],
  ["\ud83d\ude80", 761778625, [0, 1, 1, 1, 1]],
  ["k\u00f6ln:\u00fc-\u00e4\u00df", -203880014, [0, 0, 0, 6, 50]],
  // bytes >= 0x80 check that bytes are read unsigned (Java's `& 0xff`)
  [bytes(0xff, 0x80, 0x00, 0x7f, 0xfe), 768357719, [0, 2, 5, 11, 23]]
]

const encoder = new TextEncoder()
const utf8 = (key: string | Uint8Array) => (typeof key === "string" ? encoder.encode(key) : key)
const label = (key: string | Uint8Array) => (typeof key === "string" ? JSON.stringify(key) : `bytes[${key.join(",")}]`)

describe("murmur2 partitioner", () => {
  it("covers every tail length and multi-byte UTF-8", () => {
    const lengths = new Set(VECTORS.map(([key]) => utf8(key).length % 4))
    assert.deepStrictEqual([...lengths].sort(), [0, 1, 2, 3])
    assert.isTrue(VECTORS.some(([key]) => typeof key === "string" && utf8(key).length > key.length))
  })

  for (const [key, hash, partitions] of VECTORS) {
    it(`matches Kafka for ${label(key)}`, () => {
      assert.strictEqual(murmur2(utf8(key)), hash, "Utils.murmur2")
      assert.deepStrictEqual(
        PARTITION_COUNTS.map((n) => partitionForKey(key, n)),
        [...partitions],
        `partitions for ${PARTITION_COUNTS.join("/")}`
      )
    })
  }

  it("a string key and its UTF-8 bytes pick the same partition, always in range", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const p = partitionForKey(key, n)
        return p === partitionForKey(encoder.encode(key), n) && Number.isInteger(p) && p >= 0 && p < n
      })
    )
  })
})
