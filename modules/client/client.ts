// The supervisor: keeps one connection to a broker alive through whatever the network does. It is the thin
// driver between the Host (sockets, timers) and the sans-IO parts: Connection for the protocol, Backoff for when
// to retry, KeepAliveTuner for NAT idle timeouts, OfflineQueue for publishes made while disconnected.
import { Backoff, type BackoffConfig, type Retry } from "tether/client/backoff";
import type { Broker } from "tether/client/broker";
import { type CloseCause, Connection, type ConnectionEvent } from "tether/client/connection";
import { OfflineQueue, type QueueLimits } from "tether/client/queue";
import type { Host, NetError, Socket, Timer } from "tether/host";
import type { Properties, ProtocolVersion, QoS, Subscription, Will } from "tether/mqtt/packets";
import { type OutMessage, Session } from "tether/mqtt/session";

export interface ClientConfig {
  brokers: Broker[];
  clientId: string;
  version: ProtocolVersion;
  /** Seconds. */
  keepAlive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  cleanStart: boolean;
  /** MQTT 5 Session Expiry Interval, seconds. */
  sessionExpiry: number;
  maxPacketSize: number;
  /** ms to wait for TCP (and TLS) to connect. */
  connectTimeout: number;
  /** ms to wait for CONNACK. */
  connackTimeout: number;
  backoff: BackoffConfig;
  queue: QueueLimits;
  /** Names the cause of a failure with a diagnostics code; the backoff policy acts on it (see causePolicy). */
  classify: (cause: CloseCause) => string;
  /** CA names for mqtts brokers (see TlsOptions). */
  ca?: string[];
  /** Verify the server's certificate (default true); off only for an application that asks, as Moddable's `secure.verify`. */
  verify?: boolean;
  /** Most QoS 1/2 messages in flight at once (see ConnectionOptions.maxInflight). */
  maxInflight?: number;
}

/** What the supervisor reports, beyond the connection's own events. */
export type ClientEvent =
  | ConnectionEvent
  | { type: "connecting"; broker: Broker; attempt: number }
  | { type: "resolved"; broker: Broker; address: string }
  | { type: "socket"; broker: Broker; ms: number }
  | { type: "waiting"; delay: number; reason: string; broker: Broker }
  | { type: "link"; up: boolean }
  | { type: "queued"; result: "queued" | "dropped" | "full"; depth: number }
  | { type: "bytes"; direction: "in" | "out"; count: number };

export type PublishResult = "sent" | "queued" | "dropped" | "full" | "invalid";

const IDLE = 0;
const CONNECTING = 1; // socket being opened
const SESSION = 2; // socket open, Connection running (handshake or up)
const WAITING = 3; // backing off
const NO_LINK = 4; // waiting for the network link
const STOPPED = 5;

export class Client {
  private state = IDLE;
  private readonly session = new Session();
  private readonly queue: OfflineQueue;
  private readonly backoff: Backoff<Broker>;
  private readonly subscriptions = new Map<string, Subscription>();
  private conn: Connection | undefined;
  private socket: Socket | undefined;
  /** The one timer: at the connection's next deadline, or the end of the backoff wait. */
  private readonly timer: Timer;
  private timerAt = Number.POSITIVE_INFINITY;
  private timerAction: () => void = () => {};
  private attempt = 0;
  private socketStarted = 0;
  private traceOn = false;

  constructor(
    private readonly host: Host,
    private readonly config: ClientConfig,
    private readonly observe: (event: ClientEvent) => void,
  ) {
    this.queue = new OfflineQueue(config.queue);
    this.backoff = new Backoff(config.backoff, () => host.random(), config.brokers);
    this.timer = host.timer(() => {
      this.timerAt = Number.POSITIVE_INFINITY;
      this.timerAction();
    });
  }

  get connected(): boolean {
    return this.conn?.connected === true;
  }

  get broker(): Broker {
    return this.backoff.broker;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get inflight(): number {
    return this.session.inflight;
  }

  get keepAlive(): number {
    return this.conn?.keepAliveSeconds ?? this.config.keepAlive;
  }

  set trace(on: boolean) {
    this.traceOn = on;
    if (this.conn) this.conn.trace = on;
  }

  /** Starts: at power-on (the first start) after the backoff's power-on spread, after a stop() at once. */
  start(): void {
    if (this.state === STOPPED) {
      this.dial();
      return;
    }
    if (this.state !== IDLE) return;
    // With the link down, the spread is drawn when it comes up (linkUp), the moment the fleet shares.
    const first = this.backoff.boot(this.host.now());
    if (first.delay === 0 || !this.host.linkUp()) this.dial();
    else this.wait(first);
  }

  /**
   * Says goodbye to the broker and stays down until start(). With `abort` the socket is closed first, so no
   * DISCONNECT goes out and the broker publishes the will, as after a crash.
   */
  stop(reason: string, abort = false): void {
    this.state = STOPPED;
    this.cancelTimer();
    if (abort) this.dropSocket();
    if (this.conn) this.conn.disconnect(this.host.now(), reason);
    else this.dropSocket();
  }

  /** Drops the current connection (or the wait) and dials again now. */
  reconnect(reason: string): void {
    if (this.conn) this.conn.disconnect(this.host.now(), reason);
    else this.dropSocket();
    this.cancelTimer();
    this.dial();
  }

  setKeepAlive(seconds: number): void {
    this.config.keepAlive = seconds;
  }

  linkChanged(up: boolean): void {
    this.observe({ type: "link", up });
    if (up) {
      if (this.state === NO_LINK) this.wait(this.backoff.linkUp(this.host.now()));
      return;
    }
    if (this.conn || this.socket) this.lost({ code: "unreachable", detail: "link_down" });
  }

  publish(topic: string, payload: Uint8Array, qos: QoS, retain: boolean, properties?: Properties): PublishResult {
    const message: OutMessage = { topic, payload, qos, retain, properties };
    if (this.conn?.connected) {
      const taken = this.conn.publish(message, this.host.now());
      this.rearm();
      return taken ? "sent" : "invalid";
    }
    const before = this.queue.dropped;
    const result = this.queue.push(message);
    const depth = this.queue.length;
    // Every QoS 0 message pushed out to make room is a drop of its own, for the counters.
    for (let n = this.queue.dropped - before - (result === "dropped" ? 1 : 0); n > 0; n--) {
      this.observe({ type: "queued", result: "dropped", depth });
    }
    this.observe({ type: "queued", result, depth });
    return result;
  }

  /** Subscribes now if connected, and again after every reconnect that finds no session. */
  subscribe(subscription: Subscription): number {
    this.subscriptions.set(subscription.topicFilter, subscription);
    return this.conn?.connected ? this.conn.subscribe([subscription], this.host.now()) : 0;
  }

  unsubscribe(topicFilter: string): number {
    this.subscriptions.delete(topicFilter);
    return this.conn?.connected ? this.conn.unsubscribe([topicFilter], this.host.now()) : 0;
  }

  private dial(): void {
    if (!this.host.linkUp()) {
      this.state = NO_LINK;
      this.observe({ type: "waiting", delay: -1, reason: "network link down: waiting for it", broker: this.broker });
      return;
    }
    const broker = this.broker;
    this.state = CONNECTING;
    this.attempt++;
    this.socketStarted = this.host.now();
    this.observe({ type: "connecting", broker, attempt: this.attempt });
    const socket = this.host.connect(
      {
        host: broker.host,
        port: broker.port,
        timeout: this.config.connectTimeout,
        tls: broker.tls
          ? { serverName: broker.host, verify: this.config.verify ?? true, ca: this.config.ca }
          : undefined,
      },
      {
        onResolved: (address) => {
          if (this.socket === socket) this.observe({ type: "resolved", broker, address });
        },
        onConnect: () => {
          if (this.socket === socket) this.opened();
        },
        onData: (bytes) => {
          if (this.socket !== socket || !this.conn) return;
          this.observe({ type: "bytes", direction: "in", count: bytes.length });
          this.conn.receive(bytes, this.host.now());
          this.rearm();
        },
        onWritable: () => {},
        onError: (error) => {
          if (this.socket === socket) this.lost(error);
        },
      },
    );
    this.socket = socket;
  }

  private opened(): void {
    const now = this.host.now();
    this.observe({ type: "socket", broker: this.broker, ms: now - this.socketStarted });
    this.state = SESSION;
    const c = this.config;
    const conn = new Connection(
      {
        version: c.version,
        clientId: c.clientId,
        cleanStart: c.cleanStart,
        keepAlive: c.keepAlive,
        username: c.username,
        password: c.password,
        will: c.will,
        sessionExpiry: c.sessionExpiry,
        maxPacketSize: c.maxPacketSize,
        connackTimeout: c.connackTimeout,
        maxInflight: c.maxInflight,
      },
      this.session,
      {
        write: (bytes) => {
          if (!this.socket) return;
          this.observe({ type: "bytes", direction: "out", count: bytes.length });
          this.socket.write(bytes);
        },
        close: () => this.dropSocket(),
        event: (event) => this.connectionEvent(conn, event),
      },
    );
    conn.trace = this.traceOn;
    this.conn = conn;
    conn.start(now);
    this.rearm();
  }

  private connectionEvent(conn: Connection, event: ConnectionEvent): void {
    if (event.type === "connected") {
      this.backoff.connected(this.host.now());
      this.attempt = 0;
      if (!event.sessionPresent && this.subscriptions.size) {
        conn.subscribe([...this.subscriptions.values()], this.host.now());
      }
      this.observe(event);
      for (const message of this.queue.drain()) conn.publish(message, this.host.now());
      return;
    }
    if (event.type === "closed") {
      this.conn = undefined;
      this.observe(event);
      // A close of our own (stop, reconnect) is followed by whatever its caller does next, not by a backoff.
      if (event.cause.kind !== "local") this.retry(event.cause, event.uptime);
      return;
    }
    this.observe(event);
  }

  /** The socket died before or after the MQTT session started. */
  private lost(error: NetError): void {
    const conn = this.conn;
    if (conn) {
      conn.socketFailed(error, this.host.now());
      return;
    }
    this.dropSocket();
    const cause: CloseCause = { kind: "net", error };
    this.observe({ type: "closed", cause, uptime: -1, idle: 0 });
    this.retry(cause, -1);
  }

  private retry(cause: CloseCause, uptime: number): void {
    this.cancelTimer();
    if (this.state === STOPPED) return;
    const now = this.host.now();
    const code = this.config.classify(cause);
    const info =
      cause.kind === "connack" || cause.kind === "server_disconnect"
        ? { reasonCode: cause.reasonCode, serverReference: cause.serverReference }
        : undefined;
    this.wait(uptime < 0 ? this.backoff.failed(now, code, info) : this.backoff.disconnected(now, code, info));
  }

  private wait(next: Retry<Broker>): void {
    if (next.waitForLink && !this.host.linkUp()) {
      this.state = NO_LINK;
      this.observe({ type: "waiting", delay: -1, reason: next.reason, broker: next.broker });
      return;
    }
    this.state = WAITING;
    this.observe({ type: "waiting", delay: next.delay, reason: next.reason, broker: next.broker });
    this.armAt(this.host.now() + next.delay, this.dialNow);
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
  }

  // The timer's actions, made once: a closure per deadline would be garbage on every publish.
  private readonly dialNow = (): void => this.dial();
  private readonly tickNow = (): void => {
    const conn = this.conn;
    if (!conn) return;
    conn.tick(this.host.now());
    this.rearm();
  };

  /** Keeps the timer armed at the connection's next deadline (an earlier one only moves it). */
  private rearm(): void {
    const conn = this.conn;
    if (!conn) return;
    const at = conn.deadline();
    if (at >= this.timerAt) return;
    this.armAt(at, this.tickNow);
  }

  private armAt(at: number, action: () => void): void {
    this.cancelTimer();
    if (at === Number.POSITIVE_INFINITY) return;
    this.timerAt = at;
    this.timerAction = action;
    this.timer.schedule(Math.max(0, at - this.host.now()));
  }

  private cancelTimer(): void {
    if (this.timerAt !== Number.POSITIVE_INFINITY) this.timer.cancel();
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}
