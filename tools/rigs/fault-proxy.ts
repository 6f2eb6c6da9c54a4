// A TCP proxy on 127.0.0.1 that sits between a device (or any MQTT client) and a broker and misbehaves on demand:
// the failures a device meets in the field (refused connects, resets, half-open links, slow or lossy paths, NAT idle
// timeouts, broker restarts and failover), reproducible on loopback. Every fault can be switched at run time.
import { EventEmitter } from "node:events";
import * as net from "node:net";

/** `up` is client to broker, `down` broker to client. */
export type Direction = "up" | "down";
/** What happens to a new connection: forwarded, closed at once (FIN) or reset at once (RST). */
export type AcceptMode = "forward" | "close" | "reset";

export interface Target {
  host: string;
  port: number;
}

/** What the events carry. */
export interface LinkInfo {
  /** 1 for the first connection accepted, then counting up. */
  id: number;
  mode: AcceptMode;
  /** Bytes forwarded so far in each direction. */
  up: number;
  down: number;
}

export type ProxyEvent = "open" | "close" | "idleDrop" | "connackCut";

/** How the proxy ends a connection of its own accord: FIN both ways, or RST both ways. */
export type Ending = "close" | "reset";

/** How a chunk ends the flow after it is delivered: the peer closed, the peer reset, or cut() ran out. */
type End = "end" | "reset" | "cut";

interface Chunk {
  at: number;
  data: Buffer;
  end?: End;
}

interface Flow {
  dir: Direction;
  from: net.Socket;
  to: net.Socket;
  /** Bytes that arrived from `from`, forwarded or not: the stream offset corrupt() counts in. */
  seen: number;
  /** Bytes still to forward before the link is cut. */
  cutLeft?: number;
  queue: Chunk[];
  timer?: NodeJS.Timeout;
  /** When the last queued chunk is delivered: later chunks never overtake it. */
  lastAt: number;
}

interface Link {
  info: LinkInfo;
  up: Flow;
  down: Flow;
  /** The NAT forgot this connection: nothing crosses any more, not even a close. */
  dead: boolean;
  idleTimer?: NodeJS.Timeout;
  /** Ends the link a while after its CONNACK went down (connackCut). */
  connackTimer?: NodeJS.Timeout;
}

export class FaultProxy {
  readonly host = "127.0.0.1";
  readonly port: number;
  /** Connections accepted, in any mode. */
  accepted = 0;
  /** Bytes forwarded client to broker and broker to client, over all connections. */
  bytesUp = 0;
  bytesDown = 0;
  /** Bytes swallowed by a blackhole or a NAT drop. */
  dropped = 0;

  readonly #events = new EventEmitter();
  readonly #links = new Set<Link>();
  readonly #sockets = new Map<net.Socket, Promise<void>>();
  readonly #closing: Promise<void>[] = [];
  #server: net.Server | undefined;
  #target: Target;
  #mode: AcceptMode = "forward";
  /** The directions swallowed: none, one, or both. */
  #blackhole: Direction | "both" | undefined;
  #delay = 0;
  #jitter = 0;
  #rate = 0;
  /** `links`: how many more new connections it applies to (absent: all). */
  #cut: { bytes: number; dir: Direction | "both"; links?: number } | undefined;
  #corrupt: { offset: number; dir: Direction; mask: number } | undefined;
  #idle = 0;
  #idleEnding: Ending | undefined;
  #connackCut: { ms: number; ending: Ending } | undefined;

  private constructor(port: number, server: net.Server, target: Target) {
    this.port = port;
    this.#server = server;
    this.#target = target;
  }

  /** Starts a proxy on a free port of 127.0.0.1 forwarding to `target`. */
  static async start(target: Target): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = await listen(0, (socket) => proxy!.#accept(socket));
    proxy = new FaultProxy((server.address() as net.AddressInfo).port, server, target);
    return proxy;
  }

  /** Connections open now. */
  get open(): number {
    return this.#links.size;
  }

  // ---- faults

  /** Clears every fault: listening, forwarding, no delay, no throttle, no cut, no corruption, no idle drop. */
  async passThrough(): Promise<void> {
    this.#blackhole = undefined;
    this.#delay = this.#jitter = this.#rate = this.#idle = 0;
    this.#cut = this.#corrupt = this.#connackCut = undefined;
    for (const link of this.#links) {
      link.up.cutLeft = link.down.cutLeft = undefined;
      clearTimeout(link.idleTimer);
      clearTimeout(link.connackTimer);
    }
    await this.accept("forward");
  }

  /** Stops listening: new connects are refused (RST to the SYN, ECONNREFUSED). Open connections carry on. */
  async refuse(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    // The callback waits for the open connections too, so close() awaits it, not refuse().
    this.#closing.push(new Promise((resolve) => server.close(() => resolve())));
    // The listening socket itself is released on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Listens again (after refuse) and treats new connections per `mode`. */
  async accept(mode: AcceptMode = "forward"): Promise<void> {
    this.#mode = mode;
    this.#server ??= await listen(this.port, (socket) => this.#accept(socket));
  }

  /**
   * Stops forwarding both ways (or only `dir`) on every connection, open and new, without closing anything
   * (half-open). One way only: the broker gets what the client sends, and the client never hears back.
   */
  blackhole(on = true, dir: Direction | "both" = "both"): void {
    this.#blackhole = on ? dir : undefined;
  }

  #swallows(dir: Direction): boolean {
    return this.#blackhole === "both" || this.#blackhole === dir;
  }

  /** Delays every chunk by `ms` plus up to `jitter` ms, keeping each direction's order. */
  delay(ms: number, jitter = 0): void {
    this.#delay = ms;
    this.#jitter = jitter;
  }

  /** Limits each direction of each connection to `bytesPerSecond` (0: no limit). */
  throttle(bytesPerSecond: number): void {
    this.#rate = bytesPerSecond;
  }

  /**
   * Forwards `bytes` more bytes in `dir` on every open connection (and from the start on new ones, or on the next
   * `links` new ones only), then closes the connection both ways: the receiver sees a packet cut short.
   */
  cut(bytes: number, dir: Direction | "both" = "down", links?: number): void {
    this.#cut = { bytes, dir, links };
    for (const link of this.#links) {
      for (const flow of [link.up, link.down]) if (dir === "both" || dir === flow.dir) flow.cutLeft = bytes;
      if (bytes === 0) this.#finish(link);
    }
  }

  /** XORs the byte at stream offset `offset` of `dir` (counted from each connection's start) with `mask`. */
  corrupt(offset: number, dir: Direction = "down", mask = 0xff): void {
    this.#corrupt = { offset, dir, mask };
  }

  /**
   * A NAT idle timeout: a connection across which nothing passed (either way) for `ms` is forgotten (0: off).
   * Without `ending` it is blackholed for good, silently; with one the NAT tells both ends: FIN or RST each way.
   * Applies to open connections from now on.
   */
  natIdle(ms: number, ending?: Ending): void {
    this.#idle = ms;
    this.#idleEnding = ending;
    for (const link of this.#links) this.#arm(link);
  }

  /**
   * A middlebox that ends every new connection `ms` after the broker's CONNACK passed it, whatever the traffic
   * (undefined: off): the first packet of a connection broker to client is its CONNACK.
   */
  connackCut(ms: number | undefined, ending: Ending = "close"): void {
    this.#connackCut = ms === undefined ? undefined : { ms, ending };
  }

  /** Sends new connections to another broker (open ones stay where they are). */
  retarget(target: Target): void {
    this.#target = target;
  }

  /** Resets every open connection both ways, as a broker crash or a router reboot would. */
  resetAll(): void {
    for (const link of this.#links) for (const s of [link.up.from, link.down.from]) s.resetAndDestroy();
  }

  // ---- observation

  /** Resolves with the next event of that kind for which `match` holds; rejects after `timeout` ms. */
  waitFor(event: ProxyEvent, timeout = 20000, match: (info: LinkInfo) => boolean = () => true): Promise<LinkInfo> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off(event, listener);
        reject(new Error(`fault proxy: no "${event}" event within ${timeout} ms`));
      }, timeout);
      const listener = (info: LinkInfo) => {
        if (!match(info)) return;
        clearTimeout(timer);
        this.#events.off(event, listener);
        resolve(info);
      };
      this.#events.on(event, listener);
    });
  }

  on(event: ProxyEvent, listener: (info: LinkInfo) => void): void {
    this.#events.on(event, listener);
  }

  /** Closes the listener and every connection, clears every timer; resolves when all sockets are closed. */
  async close(): Promise<void> {
    await this.refuse();
    for (const link of this.#links) this.#forget(link);
    for (const socket of this.#sockets.keys()) socket.destroy();
    await Promise.all([...this.#sockets.values(), ...this.#closing]);
    this.#events.removeAllListeners();
  }

  // ---- internals

  #track(socket: net.Socket): void {
    socket.on("error", () => {});
    this.#sockets.set(
      socket,
      new Promise((resolve) =>
        socket.once("close", () => {
          this.#sockets.delete(socket);
          resolve();
        }),
      ),
    );
  }

  #accept(client: net.Socket): void {
    this.accepted++;
    this.#track(client);
    const info: LinkInfo = { id: this.accepted, mode: this.#mode, up: 0, down: 0 };
    if (this.#mode !== "forward") {
      client.once("close", () => this.#events.emit("close", info));
      this.#events.emit("open", info);
      if (this.#mode === "close") client.end();
      else client.resetAndDestroy();
      return;
    }
    const cutting = this.#cut;
    if (cutting?.links !== undefined && --cutting.links === 0) this.#cut = undefined;
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#track(upstream);
    const flow = (dir: Direction, from: net.Socket, to: net.Socket): Flow => {
      const cut = cutting && (cutting.dir === "both" || cutting.dir === dir) ? cutting.bytes : undefined;
      return { dir, from, to, seen: 0, cutLeft: cut, queue: [], lastAt: 0 };
    };
    const link: Link = { info, up: flow("up", client, upstream), down: flow("down", upstream, client), dead: false };
    this.#links.add(link);
    for (const f of [link.up, link.down]) {
      f.from.on("data", (chunk: Buffer) => this.#data(link, f, chunk));
      // A close crosses like data does: after what was queued before it, and not at all through a blackhole.
      f.from.once("close", (hadError) => this.#enqueue(link, f, Buffer.alloc(0), hadError ? "reset" : "end"));
    }
    let closed = 0;
    const done = () => {
      if (++closed < 2) return;
      this.#forget(link);
      this.#events.emit("close", info);
    };
    client.once("close", done);
    upstream.once("close", done);
    this.#arm(link);
    this.#events.emit("open", info);
  }

  #arm(link: Link): void {
    clearTimeout(link.idleTimer);
    if (this.#idle <= 0 || link.dead) return;
    link.idleTimer = setTimeout(() => {
      link.dead = true;
      this.#events.emit("idleDrop", link.info);
      if (this.#idleEnding) this.#end(link, this.#idleEnding);
    }, this.#idle);
  }

  #data(link: Link, flow: Flow, chunk: Buffer): void {
    if (link.dead || this.#swallows(flow.dir)) {
      this.dropped += chunk.length;
      return;
    }
    link.idleTimer?.refresh();
    let data = chunk;
    const c = this.#corrupt;
    if (c && c.dir === flow.dir && c.offset >= flow.seen && c.offset < flow.seen + chunk.length) {
      data = Buffer.from(chunk);
      data[c.offset - flow.seen] ^= c.mask;
    }
    // CONNACK's first byte: packet type 2, flags 0.
    const cut = this.#connackCut;
    if (cut && flow.dir === "down" && flow.seen === 0 && data[0] === 0x20) {
      link.connackTimer = setTimeout(() => {
        this.#events.emit("connackCut", link.info);
        this.#end(link, cut.ending);
      }, cut.ms);
    }
    flow.seen += chunk.length;
    let last = false;
    if (flow.cutLeft !== undefined) {
      last = data.length >= flow.cutLeft;
      if (last) data = data.subarray(0, flow.cutLeft);
      flow.cutLeft -= data.length;
    }
    this.#enqueue(link, flow, data, last ? "cut" : undefined);
  }

  // Every chunk goes through the flow's queue, so delay, jitter and throttle can never reorder a direction.
  #enqueue(link: Link, flow: Flow, data: Buffer, end?: End): void {
    if (!this.#links.has(link) || (end && end !== "cut" && (link.dead || this.#swallows(flow.dir)))) return;
    // Throttled, a chunk goes out in pieces of a tenth of a second's worth, as bytes cross a slow link: a large
    // one handed over whole would arrive all at once at the end of its time, and nothing of it before.
    const piece = Math.max(1, Math.floor(this.#rate / 10));
    if (this.#rate > 0 && data.length > piece) {
      for (let at = 0; at < data.length; at += piece) {
        const last = at + piece >= data.length;
        this.#enqueue(link, flow, data.subarray(at, at + piece), last ? end : undefined);
      }
      return;
    }
    const now = Date.now();
    const start = Math.max(flow.lastAt, now + this.#delay + Math.random() * this.#jitter);
    flow.lastAt = start + (this.#rate > 0 ? (data.length * 1000) / this.#rate : 0);
    const chunk = { at: flow.lastAt, data, end };
    if (flow.lastAt <= now && flow.queue.length === 0) this.#deliver(link, flow, chunk);
    else {
      flow.queue.push(chunk);
      this.#pump(link, flow);
    }
  }

  #pump(link: Link, flow: Flow): void {
    if (flow.timer || flow.queue.length === 0) return;
    flow.timer = setTimeout(
      () => {
        flow.timer = undefined;
        while (flow.queue.length > 0 && flow.queue[0]!.at <= Date.now()) {
          this.#deliver(link, flow, flow.queue.shift()!);
        }
        this.#pump(link, flow);
      },
      Math.max(0, flow.queue[0]!.at - Date.now()),
    );
  }

  #deliver(link: Link, flow: Flow, { data, end }: Chunk): void {
    if (data.length > 0 && !flow.to.destroyed) {
      link.info[flow.dir] += data.length;
      if (flow.dir === "up") this.bytesUp += data.length;
      else this.bytesDown += data.length;
      if (!flow.to.write(data) && !flow.from.isPaused()) {
        flow.from.pause();
        flow.to.once("drain", () => flow.from.resume());
      }
    }
    if (end === "cut") this.#finish(link);
    else if (end === "reset") flow.to.resetAndDestroy();
    else if (end === "end") flow.to.end();
  }

  /** Ends a link now, both ways: FIN after what was forwarded, or RST. */
  #end(link: Link, ending: Ending): void {
    if (ending === "close") this.#finish(link);
    else for (const s of [link.up.from, link.down.from]) s.resetAndDestroy();
  }

  /** Closes both sides of a link in an orderly way once what was forwarded is flushed. */
  #finish(link: Link): void {
    for (const s of [link.up.from, link.down.from]) s.end();
    link.up.queue.length = link.down.queue.length = 0;
  }

  #forget(link: Link): void {
    this.#links.delete(link);
    clearTimeout(link.idleTimer);
    clearTimeout(link.connackTimer);
    clearTimeout(link.up.timer);
    clearTimeout(link.down.timer);
  }
}

function listen(port: number, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection);
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
