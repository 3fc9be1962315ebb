/**
 * The HTTP load of `npm run bench -- load`, in a process of its own so that generating it takes
 * nothing from the process whose send is measured:
 *
 *   node --import tsx bench/load-client.ts <config.json>
 *
 * Two autocannon instances at once: public signups (`POST /subscribe`, JSON, a new address each
 * time) and RFC 8058 one-click unsubscribes (`POST /unsubscribe/<token>`, body
 * `List-Unsubscribe=One-Click`, cycling through the tokens of existing subscribers). Once loaded
 * it says `ready` over IPC; the load starts on `start` and runs until `stop` (or for `seconds`),
 * then one JSON line with the figures of each endpoint goes to stdout.
 *
 * People sign up from many addresses: every signup connection comes from a loopback address of
 * its own (127.64.0.0/10) and moves to a new one after SIGNUPS_PER_CLIENT requests, so the
 * service's per-IP signup limit sees what it would see in real life, without any forwarded-for
 * header being trusted.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import autocannon from 'autocannon';
import { percentile } from './harness.js';

export interface LoadClientConfig {
  baseUrl: string;
  connectionsPerEndpoint: number;
  /** 0: until told to stop. */
  seconds: number;
  consentVersion: string;
  formToken: string;
  topic: string;
  /** `/unsubscribe/<token>` paths of existing subscribers. */
  unsubscribePaths: string[];
}

export interface EndpointFigures {
  /** Every answer, counted when its headers arrive (also those autocannon leaves out of its figures). */
  answers: number;
  byStatus: Record<string, number>;
  requestsPerSecond: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Percentiles of the answers' own times (ms), from autocannon's per-response timing. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  timedAnswers: number;
  seconds: number;
}

/** Below the service's per-IP limit of 20 signups per 10 minutes: a client never reaches it. */
const SIGNUPS_PER_CLIENT = 20;

let nextClient = 0;
function freshLoopbackAddress(): string {
  const n = nextClient++;
  return `127.${64 + (Math.floor(n / 62_500) % 64)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

type Connectable = {
  _connect(): void;
  on(event: 'headers', listener: (h: { statusCode: number }) => void): void;
};

/** Counts every answer's status, including the ones autocannon drops when it reconnects. */
function countStatuses(byStatus: Record<string, number>) {
  return (client: Connectable) => {
    client.on('headers', ({ statusCode }) => {
      byStatus[statusCode] = (byStatus[statusCode] ?? 0) + 1;
    });
  };
}

/** Every connection of this client starts from a fresh loopback address (autocannon has no option for it). */
function fromFreshAddresses(client: Connectable): void {
  const connect = client._connect;
  client._connect = function (this: Connectable) {
    const original = net.connect;
    const localAddress = freshLoopbackAddress();
    (net as { connect: unknown }).connect = (port: number, host: string) =>
      original({ port, host, localAddress });
    try {
      connect.call(this);
    } finally {
      (net as { connect: unknown }).connect = original;
    }
  };
}

function run(options: autocannon.Options, setupClient: (client: Connectable) => void) {
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const countStatus = countStatuses(byStatus);
  const started = performance.now();
  let finish: (figures: EndpointFigures) => void;
  const finished = new Promise<EndpointFigures>((resolve) => {
    finish = resolve;
  });
  const instance = autocannon(
    {
      ...options,
      setupClient: (client: autocannon.Client) => {
        countStatus(client as unknown as Connectable);
        setupClient(client as unknown as Connectable);
      },
    },
    (error, result) => {
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const answers = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
      finish({
        answers,
        byStatus,
        requestsPerSecond: answers / seconds,
        errors: error ? 1 : result.errors + result.timeouts,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies.at(-1) ?? Number.NaN,
        timedAnswers: latencies.length,
        seconds,
      });
    },
  );
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  return { instance, finished };
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadClientConfig;
const duration = config.seconds > 0 ? config.seconds : 24 * 3600;
const told = (word: string) =>
  new Promise<void>((resolve) =>
    process.on('message', (message) => {
      if (message === word) resolve();
    }),
  );
const stopping = told('stop');
const starting = told('start');
process.send?.('ready');
await starting;

let signups = 0;
const signup = run(
  {
    url: `${config.baseUrl}/subscribe`,
    connections: config.connectionsPerEndpoint,
    duration,
    reconnectRate: SIGNUPS_PER_CLIENT,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          signups++;
          return {
            ...request,
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({
              email: `belasting-${process.pid}-${signups}@voorbeeld.test`,
              topics: [config.topic],
              locale: signups % 2 === 0 ? 'en' : 'nl',
              consent: true,
              consentVersion: config.consentVersion,
              formToken: config.formToken,
            }),
          };
        },
      },
    ],
  },
  fromFreshAddresses,
);
let unsubscribes = 0;
const unsubscribe = run(
  {
    url: config.baseUrl,
    connections: config.connectionsPerEndpoint,
    duration,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({
          ...request,
          path: config.unsubscribePaths[unsubscribes++ % config.unsubscribePaths.length]!,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        }),
      },
    ],
  },
  () => undefined,
);

void stopping.then(() => {
  signup.instance.stop();
  unsubscribe.instance.stop();
});
const [signupFigures, unsubscribeFigures] = await Promise.all([signup.finished, unsubscribe.finished]);
process.stdout.write(
  `${JSON.stringify({ 'POST /subscribe': signupFigures, 'POST /unsubscribe/{token}': unsubscribeFigures })}\n`,
);
process.disconnect?.();
