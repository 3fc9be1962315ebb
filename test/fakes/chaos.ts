/**
 * Random trouble for the fake provider servers (fault-injection mode): some requests wait for a
 * latency spike first, some get a fault instead of normal service. Each fake maps a drawn fault
 * onto its provider's own way of failing, and counts what it injected.
 */
export type ChaosFault =
  /** 429 with retry-after and ratelimit-* headers (Resend); LinkedIn's 429 means "until tomorrow". */
  | 'rate-limited'
  /** 500 before any work was done. */
  | 'server-error'
  /** 500 after the work was done (e.g. the post was created): the client cannot know. */
  | 'server-error-after-work'
  /** The socket is destroyed before any work was done. */
  | 'dropped'
  /** The work was done, then the socket is destroyed instead of answering. */
  | 'dropped-after-work';

export interface ChaosSettings {
  /** Share of requests (0–1) that get a fault instead of normal service. */
  faultRate: number;
  /** The faults drawn from, with equal chances. */
  faults: ChaosFault[];
  /** Share of requests (0–1) delayed by a latency spike before anything else happens. */
  spikeRate: number;
  /** Bounds of a spike in ms. */
  spikeMs: [number, number];
}

export class Chaos {
  readonly injected: Record<ChaosFault | 'latency-spike', number> = {
    'rate-limited': 0,
    'server-error': 0,
    'server-error-after-work': 0,
    dropped: 0,
    'dropped-after-work': 0,
    'latency-spike': 0,
  };

  constructor(
    private readonly settings: ChaosSettings,
    private readonly random: () => number = Math.random,
  ) {}

  /** What happens to one request: a spike to wait first (0: none), and a fault or null. */
  draw(): { spikeMs: number; fault: ChaosFault | null } {
    const { faultRate, faults, spikeRate, spikeMs } = this.settings;
    let spike = 0;
    if (this.random() < spikeRate) {
      spike = Math.round(spikeMs[0] + this.random() * (spikeMs[1] - spikeMs[0]));
      this.injected['latency-spike']++;
    }
    let fault: ChaosFault | null = null;
    if (faults.length > 0 && this.random() < faultRate) {
      fault = faults[Math.floor(this.random() * faults.length)]!;
      this.injected[fault]++;
    }
    return { spikeMs: spike, fault };
  }

  /** Waits out a drawn spike. */
  static async wait(spikeMs: number): Promise<void> {
    if (spikeMs > 0) await new Promise((resolve) => setTimeout(resolve, spikeMs));
  }
}

/** Chaos by plan: the n-th request gets the n-th fault of the list (null: normal service), then none. */
export class ScriptedChaos extends Chaos {
  constructor(private readonly plan: (ChaosFault | null)[]) {
    super({ faultRate: 0, faults: [], spikeRate: 0, spikeMs: [0, 0] });
  }

  override draw(): { spikeMs: number; fault: ChaosFault | null } {
    const fault = this.plan.shift() ?? null;
    if (fault) this.injected[fault]++;
    return { spikeMs: 0, fault };
  }
}
