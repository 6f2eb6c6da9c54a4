import { effectiveKeepAlive, KeepAlive, pingTimeout } from "tether/mqtt/keepalive";

describe("effectiveKeepAlive", () => {
  it("uses the requested value unless the server overrides it", () => {
    expect(effectiveKeepAlive(60)).toBe(60);
    expect(effectiveKeepAlive(60, 30)).toBe(30);
    expect(effectiveKeepAlive(60, 0)).toBe(0);
    expect(effectiveKeepAlive(0, 120)).toBe(120);
  });
});

describe("pingTimeout", () => {
  it("defaults before any sample to min(keepAlive/2, 10 s), never below 2 s", () => {
    expect(pingTimeout(undefined, 0, 60)).toBe(10000);
    expect(pingTimeout(undefined, 0, 10)).toBe(5000);
    expect(pingTimeout(undefined, 0, 2)).toBe(2000);
    expect(pingTimeout(undefined, 0, 0)).toBe(10000);
  });

  it("is SRTT + 4 RTTVAR clamped between 2 s and half the keep alive", () => {
    expect(pingTimeout(3000, 1000, 60)).toBe(7000);
    expect(pingTimeout(3000, 1000, 10)).toBe(5000);
    expect(pingTimeout(100, 50, 60)).toBe(2000);
    expect(pingTimeout(20000, 5000, 0)).toBe(40000);
    expect(pingTimeout(3000, 1000, 1)).toBe(2000);
  });
});

describe("KeepAlive", () => {
  it("estimates round-trip time as RFC 6298 (alpha 1/8, beta 1/4)", () => {
    const k = new KeepAlive(60);
    k.start(0, 60);
    const samples: [number, number][] = [];
    let t = 0;
    for (const rtt of [100, 200, 50]) {
      t += 60000;
      k.pingSent(t);
      k.pingResponse(t + rtt);
      samples.push([k.srtt!, k.rttvar]);
    }
    expect(samples).toEqual([
      [100, 50],
      [112.5, 62.5],
      [104.6875, 62.5],
    ]);
    k.start(500000, 60);
    expect(k.srtt).toBe(104.6875);
  });

  it("ignores a PINGRESP without a PINGREQ for the estimate", () => {
    const k = new KeepAlive(60);
    k.start(0, 60);
    k.pingResponse(100);
    expect(k.srtt).toBeUndefined();
  });

  it("times a second PINGREQ's answer from the first unanswered one", () => {
    const k = new KeepAlive(60);
    k.start(0, 60);
    k.pingSent(1000);
    k.pingSent(1500);
    k.pingResponse(1300 + 1000);
    expect(k.srtt).toBe(1300);
  });

  it("asks for a ping only after a full keep alive without sending", () => {
    const k = new KeepAlive(10);
    k.start(1000, 10);
    expect(k.nextDeadline()).toBe(11000);
    expect(k.check(10999)).toBe("idle");
    k.received(10000);
    expect(k.check(11000)).toBe("ping");
    k.sent(10500);
    expect(k.check(11000)).toBe("idle");
    expect(k.nextDeadline()).toBe(20500);
    expect(k.check(20500)).toBe("ping");
  });

  it("never pings with keep alive 0", () => {
    const k = new KeepAlive(0);
    k.start(0, 0);
    expect(k.check(1e9)).toBe("idle");
    expect(k.nextDeadline()).toBe(Infinity);
  });

  it("times out when nothing at all is received for the timeout after the PINGREQ", () => {
    const k = new KeepAlive(10);
    k.start(0, 10);
    k.pingSent(10000);
    expect(k.pingTimeout).toBe(5000);
    expect(k.nextDeadline()).toBe(15000);
    expect(k.check(14999)).toBe("idle");
    expect(k.check(15000)).toBe("timeout");
  });

  it("counts any packet received after the PINGREQ as proof of life", () => {
    const k = new KeepAlive(10);
    k.start(0, 10);
    k.pingSent(10000);
    k.received(14000);
    expect(k.check(15000)).toBe("idle");
    expect(k.nextDeadline()).toBe(19000);
    expect(k.check(19000)).toBe("timeout");
  });

  it("clears the timeout on PINGRESP and pings again a keep alive later", () => {
    const k = new KeepAlive(10);
    k.start(0, 10);
    k.pingSent(10000);
    k.pingResponse(10040);
    expect(k.check(16000)).toBe("idle");
    expect(k.nextDeadline()).toBe(20000);
    expect(k.check(20000)).toBe("ping");
  });

  it("uses the measured timeout once samples exist", () => {
    const k = new KeepAlive(60);
    k.start(0, 60);
    k.pingSent(60000);
    k.pingResponse(63000);
    expect(k.pingTimeout).toBe(3000 + 4 * 1500);
    k.pingSent(120000);
    expect(k.nextDeadline()).toBe(129000);
    expect(k.check(129000)).toBe("timeout");
  });

  it("runs on the keep alive in force it is started with (a Server Keep Alive), another one on the next connection", () => {
    const k = new KeepAlive(60);
    expect(k.keepAlive).toBe(60);
    k.start(0, effectiveKeepAlive(60, 5));
    expect(k.keepAlive).toBe(5);
    expect(k.nextDeadline()).toBe(5000);
    expect(k.pingTimeout).toBe(2500);
    k.start(10000, 0);
    expect(k.check(1e9)).toBe("idle");
    k.start(20000, effectiveKeepAlive(60));
    expect([k.keepAlive, k.nextDeadline()]).toEqual([60, 80000]);
  });

  it("returns the round trip of a PINGRESP, and undefined for an unsolicited one", () => {
    const k = new KeepAlive(60);
    k.start(0, 60);
    k.pingSent(60000);
    expect(k.pingResponse(60250)).toBe(250);
    expect(k.pingResponse(60300)).toBeUndefined();
  });

  it("forgets an unanswered ping on a new connection", () => {
    const k = new KeepAlive(10);
    k.start(0, 10);
    k.pingSent(10000);
    k.start(20000, 10);
    expect(k.check(29999)).toBe("idle");
  });
});

describe("KeepAlive while the device keeps sending", () => {
  it("declares the link dead when a packet the broker must answer gets no answer for keep alive + ping timeout", () => {
    const ka = new KeepAlive(10);
    ka.start(0, 10);
    // A QoS 1 publish every second: never quiet long enough for a PINGREQ.
    for (let t = 1000; t < 15000; t += 1000) {
      ka.expectAnswer(t);
      expect(ka.check(t)).toBe("idle");
    }
    // Unanswered since 1000 ms: dead at 1000 + 10000 + 5000 (the default ping timeout for 10 s).
    expect(ka.nextDeadline()).toBe(16000);
    expect(ka.check(15999)).toBe("idle");
    expect(ka.check(16000)).toBe("timeout");
  });

  it("starts over when anything arrives from the broker", () => {
    const ka = new KeepAlive(10);
    ka.start(0, 10);
    ka.expectAnswer(1000);
    ka.received(4000);
    ka.expectAnswer(8000);
    // Without the reset it would be dead at 1000 + 15000; now the next thing due is a PINGREQ at 8000 + 10000.
    expect(ka.check(16500)).toBe("idle");
    expect(ka.nextDeadline()).toBe(18000);
    expect(ka.check(22999)).toBe("ping");
    ka.pingSent(18000);
    expect(ka.check(22999)).toBe("idle");
    expect(ka.check(23000)).toBe("timeout");
  });

  it("does nothing of the kind with keep alive disabled", () => {
    const ka = new KeepAlive(0);
    ka.start(0, 0);
    ka.expectAnswer(1000);
    expect(ka.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    expect(ka.check(1e9)).toBe("idle");
  });
});
