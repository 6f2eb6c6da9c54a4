import { Backoff } from "tether/client/backoff";
import { Connection } from "tether/client/connection";
import { OfflineQueue } from "tether/client/queue";
import { Session } from "tether/mqtt/session";
const IDLE = 0;
const CONNECTING = 1;
const SESSION = 2;
const WAITING = 3;
const NO_LINK = 4;
const STOPPED = 5;
class Client {
  constructor(host, config, observe) {
    this.host = host;
    this.config = config;
    this.observe = observe;
    this.queue = new OfflineQueue(config.queue);
    this.backoff = new Backoff(config.backoff, Math.random, config.brokers);
  }
  host;
  config;
  observe;
  state = IDLE;
  session = new Session();
  queue;
  backoff;
  subscriptions = /* @__PURE__ */ new Map();
  conn;
  socket;
  timer;
  timerAt = Number.POSITIVE_INFINITY;
  attempt = 0;
  socketStarted = 0;
  traceOn = false;
  get connected() {
    return this.conn?.connected === true;
  }
  get broker() {
    return this.backoff.broker;
  }
  get queueDepth() {
    return this.queue.length;
  }
  get inflight() {
    return this.session.inflight;
  }
  get keepAlive() {
    return this.conn?.keepAliveSeconds ?? this.config.keepAlive;
  }
  set trace(on) {
    this.traceOn = on;
    if (this.conn) this.conn.trace = on;
  }
  start() {
    if (this.state === IDLE || this.state === STOPPED) this.dial();
  }
  /** Says goodbye to the broker and stays down until start(). */
  stop(reason) {
    this.state = STOPPED;
    this.cancelTimer();
    if (this.conn) this.conn.disconnect(this.host.now(), reason);
    else this.dropSocket();
  }
  /** Drops the current connection (or the wait) and dials again now. */
  reconnect(reason) {
    if (this.conn) this.conn.disconnect(this.host.now(), reason);
    else this.dropSocket();
    this.cancelTimer();
    this.dial();
  }
  setKeepAlive(seconds) {
    this.config.keepAlive = seconds;
  }
  linkChanged(up) {
    this.observe({ type: "link", up });
    if (up) {
      if (this.state === NO_LINK) this.wait(this.backoff.linkUp(this.host.now()));
      return;
    }
    if (this.conn || this.socket) this.lost({ code: "unreachable", detail: "link_down" });
  }
  publish(topic, payload, qos, retain, properties) {
    const message = { topic, payload, qos, retain, properties };
    if (this.conn?.connected) {
      const taken = this.conn.publish(message, this.host.now());
      this.rearm();
      return taken ? "sent" : "invalid";
    }
    const before = this.queue.dropped;
    const result = this.queue.push(message);
    const depth = this.queue.length;
    for (let n = this.queue.dropped - before - (result === "dropped" ? 1 : 0); n > 0; n--) {
      this.observe({ type: "queued", result: "dropped", depth });
    }
    this.observe({ type: "queued", result, depth });
    return result;
  }
  /** Subscribes now if connected, and again after every reconnect that finds no session. */
  subscribe(subscription) {
    this.subscriptions.set(subscription.topicFilter, subscription);
    return this.conn?.connected ? this.conn.subscribe([subscription], this.host.now()) : 0;
  }
  unsubscribe(topicFilter) {
    this.subscriptions.delete(topicFilter);
    return this.conn?.connected ? this.conn.unsubscribe([topicFilter], this.host.now()) : 0;
  }
  dial() {
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
        tls: broker.tls ? { serverName: broker.host, verify: true, ca: this.config.ca } : void 0
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
        onWritable: () => {
        },
        onError: (error) => {
          if (this.socket === socket) this.lost(error);
        }
      }
    );
    this.socket = socket;
  }
  opened() {
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
        connackTimeout: c.connackTimeout
      },
      this.session,
      {
        write: (bytes) => {
          this.observe({ type: "bytes", direction: "out", count: bytes.length });
          this.socket?.write(bytes);
        },
        close: () => this.dropSocket(),
        event: (event) => this.connectionEvent(conn, event)
      }
    );
    conn.trace = this.traceOn;
    this.conn = conn;
    conn.start(now);
    this.rearm();
  }
  connectionEvent(conn, event) {
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
      this.conn = void 0;
      this.observe(event);
      this.retry(event.cause, event.uptime);
      return;
    }
    this.observe(event);
  }
  /** The socket died before or after the MQTT session started. */
  lost(error) {
    const conn = this.conn;
    if (conn) {
      conn.socketFailed(error, this.host.now());
      return;
    }
    this.dropSocket();
    const cause = { kind: "net", error };
    this.observe({ type: "closed", cause, uptime: -1, idle: 0 });
    this.retry(cause, -1);
  }
  retry(cause, uptime) {
    this.cancelTimer();
    if (this.state === STOPPED) return;
    const now = this.host.now();
    const code = this.config.classify(cause);
    const info = cause.kind === "connack" || cause.kind === "server_disconnect" ? { reasonCode: cause.reasonCode, serverReference: cause.serverReference } : void 0;
    this.wait(uptime < 0 ? this.backoff.failed(now, code, info) : this.backoff.disconnected(now, code, info));
  }
  wait(next) {
    if (next.waitForLink && !this.host.linkUp()) {
      this.state = NO_LINK;
      this.observe({ type: "waiting", delay: -1, reason: next.reason, broker: next.broker });
      return;
    }
    this.state = WAITING;
    this.observe({ type: "waiting", delay: next.delay, reason: next.reason, broker: next.broker });
    this.armAt(this.host.now() + next.delay, () => this.dial());
  }
  dropSocket() {
    const socket = this.socket;
    this.socket = void 0;
    socket?.close();
  }
  /** Keeps one timer armed at the connection's next deadline. */
  rearm() {
    const conn = this.conn;
    if (!conn) return;
    const at = conn.deadline();
    if (at >= this.timerAt) return;
    this.armAt(at, () => {
      conn.tick(this.host.now());
      this.rearm();
    });
  }
  armAt(at, action) {
    this.cancelTimer();
    if (at === Number.POSITIVE_INFINITY) return;
    this.timerAt = at;
    this.timer = this.host.setTimer(Math.max(0, at - this.host.now()), () => {
      this.timer = void 0;
      this.timerAt = Number.POSITIVE_INFINITY;
      action();
    });
  }
  cancelTimer() {
    if (this.timer) this.host.clearTimer(this.timer);
    this.timer = void 0;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}
export {
  Client
};
