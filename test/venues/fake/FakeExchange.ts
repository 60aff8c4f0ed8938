import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { type WebSocket, WebSocketServer } from "ws"

/**
 * A local fake exchange for the live-layer tests: one HTTP server on 127.0.0.1
 * (port 0) serving a WebSocket endpoint and REST routes, with knobs for faults.
 * Everything it observes (connections, messages, REST requests) is recorded, and
 * tests wait for those observations with `until` — an event-driven wait, no
 * timers: the client's timing runs on the TestClock.
 */
export interface RestReply {
  readonly status: number
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

export class FakeExchange {
  readonly http: Server
  readonly wss: WebSocketServer
  readonly connections: Array<WebSocket> = []
  /** Messages received, per connection index. */
  readonly received: Array<Array<string>> = []
  readonly restRequests: Array<string> = []
  /** Reject this many upcoming WebSocket handshakes with HTTP 503. */
  rejectNext = 0
  rejected = 0
  /** Answers REST GETs; default 404. */
  rest: (path: string) => RestReply = () => ({ status: 404, body: "{}" })
  /** Called on each message from the client (e.g. to answer a subscribe). */
  onMessage: (ws: WebSocket, text: string, connection: number) => void = () => {}
  private readonly waiters = new Set<() => void>()

  constructor() {
    this.http = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = req.url ?? "/"
      this.restRequests.push(path)
      let reply: RestReply
      try {
        reply = this.rest(path)
      } catch (e) {
        reply = { status: 500, body: JSON.stringify({ fakeExchangeError: String(e) }) }
      }
      res.writeHead(reply.status, { "content-type": "application/json", ...(reply.headers ?? {}) })
      res.end(reply.body)
      this.notify()
    })
    this.wss = new WebSocketServer({
      server: this.http,
      verifyClient: (_info, done) => {
        if (this.rejectNext > 0) {
          this.rejectNext--
          this.rejected++
          this.notify()
          done(false, 503, "try later")
        } else done(true)
      }
    })
    this.wss.on("connection", (ws) => {
      const index = this.connections.length
      this.connections.push(ws)
      this.received.push([])
      ws.on("message", (data) => {
        const text = String(data)
        this.received[index]?.push(text)
        this.onMessage(ws, text, index)
        this.notify()
      })
      ws.on("close", () => this.notify())
      this.notify()
    })
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}`
  }

  get restBase(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`
  }

  /** The newest connection. */
  get current(): WebSocket | undefined {
    return this.connections.at(-1)
  }

  send(text: string): void {
    this.current?.send(text)
  }

  /** Cuts the newest connection without a close handshake (a network drop). */
  drop(): void {
    this.current?.terminate()
  }

  private notify(): void {
    for (const w of [...this.waiters]) w()
  }

  /** Completes once `predicate` holds, re-checked after every observation. */
  until(predicate: () => boolean): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const check = () => {
        if (predicate()) {
          this.waiters.delete(check)
          resume(Effect.void)
        }
      }
      this.waiters.add(check)
      check()
      return Effect.sync(() => this.waiters.delete(check))
    })
  }

  static readonly make = Effect.acquireRelease(
    Effect.callback<FakeExchange>((resume) => {
      const fake = new FakeExchange()
      fake.http.listen(0, "127.0.0.1", () => resume(Effect.succeed(fake)))
    }),
    (fake) =>
      Effect.callback<void>((resume) => {
        for (const ws of fake.connections) ws.terminate()
        fake.wss.close()
        fake.http.close(() => resume(Effect.void))
      })
  )
}
