import type { DuckDBConnection, DuckDBDecimalValue, Json } from "@duckdb/node-api"
import { DECIMAL, DuckDBInstance, decimalValue, LIST, VARCHAR } from "@duckdb/node-api"
import type { Scope } from "effect"
import { Effect, Semaphore } from "effect"
import type { SinkErrorReason } from "../../../services/SinkError.ts"
import { describeCause, SinkError } from "../../../services/SinkError.ts"

/**
 * A DuckDB database (file or in-memory) behind one connection, with every call
 * serialised: a multi-statement transaction must not interleave with another
 * fiber's statements on the same connection. Errors are classified here, once.
 */
export type DuckValue = string | number | bigint | boolean | null | ReadonlyArray<string>
export type DuckColumnType = "varchar" | "bigint" | "boolean" | "varchar[]" | "double" | "decimal" | "decimal[]"

/** SQL type of a staging column of each kind (decimals are DECIMAL(38,18), appended exactly). */
export const STAGE_SQL: Readonly<Record<DuckColumnType, string>> = {
  varchar: "VARCHAR",
  bigint: "BIGINT",
  boolean: "BOOLEAN",
  "varchar[]": "VARCHAR[]",
  double: "DOUBLE",
  decimal: "DECIMAL(38,18)",
  "decimal[]": "DECIMAL(38,18)[]"
}

const POW10 = Array.from({ length: 19 }, (_, i) => 10n ** BigInt(i))

/**
 * Decimal text (already checked to fit DECIMAL(38,18)) as DuckDB's scaled
 * integer. Appending it directly is exact and ~10x cheaper than letting DuckDB
 * cast the text: its VARCHAR -> DECIMAL(38,18) cast costs ~20 µs a value.
 */
export const decimal18 = (d: string): DuckDBDecimalValue => {
  const dot = d.indexOf(".")
  if (dot < 0) return decimalValue(BigInt(d) * (POW10[18] ?? 0n), 38, 18)
  const frac = d.slice(dot + 1, dot + 19)
  const scaled = BigInt(d.slice(0, dot) + frac) * (POW10[18 - frac.length] ?? 1n)
  // "-0.5": the sign lives on the integer part, which BigInt("-05") keeps
  return decimalValue(scaled, 38, 18)
}

export interface DuckOps {
  readonly run: (sql: string, params?: ReadonlyArray<DuckValue>) => Effect.Effect<void, SinkError>
  readonly all: (
    sql: string,
    params?: ReadonlyArray<DuckValue>
  ) => Effect.Effect<Array<Record<string, Json>>, SinkError>
  /** Appends rows to a table through DuckDB's appender (fast path for batches). */
  readonly append: (
    table: string,
    types: ReadonlyArray<DuckColumnType>,
    rows: ReadonlyArray<ReadonlyArray<DuckValue>>
  ) => Effect.Effect<void, SinkError>
}

export interface Duck extends DuckOps {
  readonly store: string
  /** Runs `body` as one transaction holding the connection (rolled back on failure); use only `tx` inside. */
  readonly transaction: <A, E, R>(body: (tx: DuckOps) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | SinkError, R>
}

const REASONS: ReadonlyArray<readonly [RegExp, SinkErrorReason]> = [
  [/^(Conversion|Constraint|Invalid Input|Out of Range|Mismatch Type) Error/, "BadData"],
  [/^(Catalog|Binder|Parser) Error/, "Schema"],
  [/^(Out of Memory|Transaction) Error/, "Overloaded"],
  [/^IO Error: Could not set lock/, "Overloaded"]
]

export const classifyDuckError = (store: string, cause: unknown): SinkError => {
  const detail = describeCause(cause)
  const reason = REASONS.find(([re]) => re.test(detail))?.[1] ?? "Fatal"
  return new SinkError({ store, reason, detail })
}

const toParam = (v: DuckValue): DuckValue => v
const VARCHAR_LIST = LIST(VARCHAR)
const DECIMAL_LIST = LIST(DECIMAL(38, 18))

export const openDuck = (path: string, store = "duckdb"): Effect.Effect<Duck, SinkError, Scope.Scope> =>
  Effect.gen(function* () {
    // Uninterruptible: DuckDB keeps running a statement whose caller gave up, and
    // closing the database under a running statement crashes the process.
    const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, SinkError> =>
      Effect.uninterruptible(Effect.tryPromise({ try: f, catch: (cause) => classifyDuckError(store, cause) }))

    const lock = yield* Semaphore.make(1)
    const instance = yield* Effect.acquireRelease(
      attempt(() => DuckDBInstance.create(path)),
      (i) => lock.withPermits(1)(Effect.sync(() => i.closeSync()))
    )
    const conn: DuckDBConnection = yield* Effect.acquireRelease(
      attempt(() => instance.connect()),
      (c) => lock.withPermits(1)(Effect.sync(() => c.closeSync()))
    )

    const params = (p: ReadonlyArray<DuckValue> | undefined) =>
      p === undefined ? undefined : (p.map(toParam) as Parameters<DuckDBConnection["run"]>[1])

    const runRaw = (sql: string, p?: ReadonlyArray<DuckValue>) =>
      attempt(() => conn.run(sql, params(p))).pipe(Effect.asVoid)
    const allRaw = (sql: string, p?: ReadonlyArray<DuckValue>) =>
      attempt(async () => (await conn.runAndReadAll(sql, params(p))).getRowObjectsJson())
    const appendRaw = (
      table: string,
      types: ReadonlyArray<DuckColumnType>,
      rows: ReadonlyArray<ReadonlyArray<DuckValue>>
    ) =>
      attempt(async () => {
        const appender = await conn.createAppender(table)
        try {
          for (const row of rows) {
            for (let i = 0; i < types.length; i++) {
              const v = row[i]
              if (v === null || v === undefined) {
                appender.appendNull()
                continue
              }
              switch (types[i]) {
                case "varchar":
                  appender.appendVarchar(String(v))
                  break
                case "bigint":
                  appender.appendBigInt(typeof v === "bigint" ? v : BigInt(v as number | string))
                  break
                case "double":
                  appender.appendDouble(Number(v))
                  break
                case "boolean":
                  appender.appendBoolean(v === true)
                  break
                case "varchar[]":
                  appender.appendList(v as ReadonlyArray<string>, VARCHAR_LIST)
                  break
                case "decimal":
                  appender.appendDecimal(decimal18(String(v)))
                  break
                case "decimal[]":
                  appender.appendList((v as ReadonlyArray<string>).map(decimal18), DECIMAL_LIST)
                  break
              }
            }
            appender.endRow()
          }
          appender.flushSync()
        } finally {
          appender.closeSync()
        }
      })

    const raw: DuckOps = { run: runRaw, all: allRaw, append: appendRaw }
    const guarded = lock.withPermits(1)

    const transaction = <A, E, R>(body: (tx: DuckOps) => Effect.Effect<A, E, R>): Effect.Effect<A, E | SinkError, R> =>
      guarded(
        runRaw("BEGIN TRANSACTION").pipe(
          Effect.andThen(body(raw)),
          Effect.tap(() => runRaw("COMMIT")),
          Effect.onError(() => runRaw("ROLLBACK").pipe(Effect.ignore))
        )
      )

    return {
      store,
      run: (sql, p) => guarded(runRaw(sql, p)),
      all: (sql, p) => guarded(allRaw(sql, p)),
      append: (table, types, rows) => guarded(appendRaw(table, types, rows)),
      transaction
    } satisfies Duck
  })

/** A JSON cell as a number (DuckDB renders BIGINT as text in JSON). */
export const num = (v: Json | undefined): number => (typeof v === "number" ? v : Number(v))
export const str = (v: Json | undefined): string =>
  typeof v === "string" ? v : v === null || v === undefined ? "" : String(v)
export const numOrNull = (v: Json | undefined): number | null => (v === null || v === undefined ? null : num(v))
export const strList = (v: Json | undefined): Array<string> => (Array.isArray(v) ? v.map((x) => str(x)) : [])
