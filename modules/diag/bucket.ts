// The budgets' arithmetic (flash writes, serial lines, history entries, remote commands): a token bucket that
// fills at `rate` tokens per `period` ms and holds `periods` periods' worth at most, full at first. A rate of 0
// means no limit.

export class Bucket {
  /** Tokens a period; may be changed once the settings are read. */
  rate: number;
  private readonly period: number;
  private readonly periods: number;
  /** Tokens now, -1 until first used (then full), and when they were last counted. */
  private tokens = -1;
  private filled = 0;

  constructor(rate: number, period: number, periods = 1) {
    this.rate = rate;
    this.period = period;
    this.periods = periods;
  }

  /** Whether a token is there at `now`, without taking it. */
  has(now: number): boolean {
    if (this.rate <= 0) return true;
    const most = this.rate * this.periods;
    const refill = ((now - this.filled) * this.rate) / this.period;
    this.tokens = this.tokens < 0 ? most : Math.min(most, this.tokens + refill);
    this.filled = now;
    return this.tokens >= 1;
  }

  /** Takes a token at `now`; false when there is none. */
  take(now: number): boolean {
    if (!this.has(now)) return false;
    if (this.rate > 0) this.tokens--;
    return true;
  }
}
