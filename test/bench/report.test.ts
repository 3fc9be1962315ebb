import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchResult, result } from '../../bench/harness.js';
import {
  type BenchReport,
  type BenchRun,
  formatNumber,
  mergeReport,
  parseReport,
  renderTable,
  replaceMarkedBlock,
  saveReport,
  TABLE_END,
  TABLE_START,
} from '../../bench/report.js';

const ORDER = ['http', 'signup', 'send'];
const machine = { cpuModel: 'Voorbeeld CPU 3000', cores: 2, memoryGiB: 24, node: 'v20.20.2' };

function run(startedAt: string, load: BenchRun['loadAverage'] = { start: [1, 2, 3], end: [4.5, 5, 6] }) {
  return { startedAt, finishedAt: startedAt.replace(':00:', ':09:'), machine, loadAverage: load };
}

const bare = { name: 'bare Hono GET /hello', value: 20_000 };
const health = result('GET /healthz', 'req/s', 12_345.6, bare, {
  text: 'at least 50 % of the bare route',
  met: true,
});
const signup = (value: number) =>
  result('POST /subscribe', 'req/s', value, bare, { text: 'p99 under 50 ms', met: false });
const send = result('send | 100,000 recipients', 'emails/s', 418.2, {
  name: 'bare SDK loop',
  value: 647,
  unit: 'emails/s (pre-built)',
});
const substitution = result('substitution', 'µs/recipient', 0.0123, { name: 'render', value: 18_175 });

const FIRST = '2026-11-25T01:00:00.000Z';
const SECOND = '2026-11-26T02:00:00.000Z';
const full = (): BenchReport =>
  mergeReport(null, run(FIRST), { http: [health], signup: [signup(70)], send: [send, substitution] }, ORDER);

describe('formatNumber', () => {
  it('keeps two significant digits for small figures and whole numbers with separators for large ones', () => {
    expect(formatNumber(13_701.4)).toBe('13,701');
    expect(formatNumber(418.7)).toBe('419');
    expect(formatNumber(21.54)).toBe('21.5');
    expect(formatNumber(0.7329)).toBe('0.73');
    expect(formatNumber(0.005153)).toBe('0.0052');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(Number.NaN)).toBe('n/a');
  });
});

describe('mergeReport', () => {
  it('replaces only the rows of the benches that ran, keeping the order of the benches', () => {
    const merged = mergeReport(full(), run(SECOND), { signup: [signup(430)] }, ORDER);
    expect(merged.results.map((row) => [row.bench, row.name, row.value, row.run])).toEqual([
      ['http', 'GET /healthz', 12_345.6, FIRST],
      ['signup', 'POST /subscribe', 430, SECOND],
      ['send', 'send | 100,000 recipients', 418.2, FIRST],
      ['send', 'substitution', 0.0123, FIRST],
    ]);
    expect(merged.runs.map((r) => r.startedAt)).toEqual([FIRST, SECOND]);
    expect(merged.updatedAt).toBe(run(SECOND).finishedAt);
  });

  it('drops the rows of benches that no longer exist and runs that no row comes from', () => {
    const merged = mergeReport(full(), run(SECOND), { http: [health], signup: [signup(1)], send: [send] }, [
      'http',
      'signup',
      'send',
    ]);
    expect(merged.results.map((row) => row.name)).toEqual([
      'GET /healthz',
      'POST /subscribe',
      'send | 100,000 recipients',
    ]);
    expect(merged.runs.map((r) => r.startedAt)).toEqual([SECOND]);
    const renamed = mergeReport(full(), run(SECOND), { signup: [signup(2)] }, ['signup', 'pages']);
    expect(renamed.results.map((row) => row.bench)).toEqual(['signup']);
  });

  it('updates the entry of a run that writes again after its next bench', () => {
    const afterHttp = mergeReport(null, run(SECOND), { http: [health] }, ORDER);
    const later = { ...run(SECOND), finishedAt: '2026-11-26T02:30:00.000Z' };
    const afterSignup = mergeReport(afterHttp, later, { http: [health], signup: [signup(3)] }, ORDER);
    expect(afterSignup.runs).toEqual([later]);
    expect(afterSignup.results.map((row) => row.bench)).toEqual(['http', 'signup']);
  });
});

describe('renderTable', () => {
  it('renders one row per figure with its baseline, ratio, goal and outcome, and names the machine', () => {
    const table = renderTable(full());
    const lines = table.split('\n');
    expect(lines[0]).toBe(TABLE_START);
    expect(lines.at(-1)).toBe(TABLE_END);
    expect(table).toContain(
      '| figure | value | baseline (same run) | ratio | goal | met |\n|---|---|---|---|---|---|',
    );
    expect(lines).toContain(
      '| GET /healthz | 12,346 req/s | bare Hono GET /hello: 20,000 req/s | 0.62 | at least 50 % of the bare route | yes |',
    );
    expect(lines).toContain(
      '| POST /subscribe | 70 req/s | bare Hono GET /hello: 20,000 req/s | 0.0035 | p99 under 50 ms | **no** |',
    );
    // A pipe in a name would split the cell; a baseline keeps its own unit; no goal: empty cells.
    expect(lines).toContain(
      '| send \\| 100,000 recipients | 418 emails/s | bare SDK loop: 647 emails/s (pre-built) | 0.65 |  |  |',
    );
    expect(lines).toContain(
      '| substitution | 0.012 µs/recipient | render: 18,175 µs/recipient | 0.00000068 |  |  |',
    );
    expect(table).toContain(
      'Measured 2026-11-25 01:00 UTC (http, signup, send) on Voorbeeld CPU 3000, 2 cores, 24 GiB RAM, Node v20.20.2; load average 1.00 / 2.00 / 3.00 at start, 4.50 / 5.00 / 6.00 at end (1 / 5 / 15 min).',
    );
  });

  it('numbers the runs when the rows come from several, and says when a load was not recorded', () => {
    const merged = mergeReport(full(), run(SECOND, null), { signup: [signup(430)] }, ORDER);
    const lines = renderTable(merged).split('\n');
    expect(lines).toContain('| figure | value | baseline (same run) | ratio | goal | met | run |');
    expect(lines.find((line) => line.startsWith('| GET /healthz '))).toMatch(/\| yes \| 1 \|$/);
    expect(lines.find((line) => line.startsWith('| POST /subscribe '))).toMatch(/\| \*\*no\*\* \| 2 \|$/);
    expect(lines).toContain(
      '- Run 1: 2026-11-25 01:00 UTC (http, send) on Voorbeeld CPU 3000, 2 cores, 24 GiB RAM, Node v20.20.2; load average 1.00 / 2.00 / 3.00 at start, 4.50 / 5.00 / 6.00 at end (1 / 5 / 15 min).',
    );
    expect(lines).toContain(
      '- Run 2: 2026-11-26 02:00 UTC (signup) on Voorbeeld CPU 3000, 2 cores, 24 GiB RAM, Node v20.20.2; load average not recorded.',
    );
  });
});

describe('replaceMarkedBlock', () => {
  it('replaces only what lies between the markers', () => {
    const page = `# Titel\n\n## Performance\n\nUitleg.\n\n${TABLE_START}\noud\n${TABLE_END}\n\nDaarna.\n`;
    expect(replaceMarkedBlock(page, `${TABLE_START}\nnieuw\n${TABLE_END}`)).toBe(
      `# Titel\n\n## Performance\n\nUitleg.\n\n${TABLE_START}\nnieuw\n${TABLE_END}\n\nDaarna.\n`,
    );
  });

  it('returns null without both markers in order', () => {
    expect(replaceMarkedBlock('# Titel\n', 'x')).toBeNull();
    expect(replaceMarkedBlock(`${TABLE_END}\n${TABLE_START}\n`, 'x')).toBeNull();
  });
});

describe('saveReport', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-report-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('merges a partial run into the stored results and rewrites only the marked block of the page', async () => {
    const files = { results: path.join(dir, 'results/latest.json'), doc: path.join(dir, 'performance.md') };
    const before = `# Titel\n\n${TABLE_START}\n${TABLE_END}\n\nHandgeschreven analyse.\n`;
    await writeFile(files.doc, before);
    const first: Record<string, BenchResult[]> = { http: [health], signup: [signup(70)], send: [send] };
    expect(await saveReport(files, run(FIRST), first, ORDER)).toEqual({
      docUpdated: true,
      previousUnreadable: false,
    });
    const second = { signup: [{ ...signup(430), ratio: Number.NaN }] };
    await saveReport(files, run(SECOND), second, ORDER);

    const stored = parseReport(await readFile(files.results, 'utf8'));
    expect(stored.results.map((row) => [row.name, row.run])).toEqual([
      ['GET /healthz', FIRST],
      ['POST /subscribe', SECOND],
      ['send | 100,000 recipients', FIRST],
    ]);
    // NaN is stored as null in JSON and read back as "not a number".
    expect(stored.results[1]!.ratio).toBeNaN();
    const page = await readFile(files.doc, 'utf8');
    expect(page.startsWith('# Titel\n\n')).toBe(true);
    expect(page.endsWith(`${TABLE_END}\n\nHandgeschreven analyse.\n`)).toBe(true);
    expect(page).toContain(renderTable(stored));
    expect(page).toContain('| POST /subscribe | 430 req/s | bare Hono GET /hello: 20,000 req/s | n/a |');
  });

  it('writes the results but leaves a page without markers alone', async () => {
    const files = { results: path.join(dir, 'other.json'), doc: path.join(dir, 'OTHER.md') };
    await writeFile(files.doc, '# Geen tabel\n');
    expect(await saveReport(files, run(FIRST), { http: [health] }, ORDER)).toEqual({
      docUpdated: false,
      previousUnreadable: false,
    });
    expect(await readFile(files.doc, 'utf8')).toBe('# Geen tabel\n');
    expect(parseReport(await readFile(files.results, 'utf8')).results).toHaveLength(1);
  });

  it('replaces a results file of an older format instead of losing the new figures', async () => {
    const files = { results: path.join(dir, 'old.json'), doc: path.join(dir, 'OLD.md') };
    await writeFile(files.doc, `${TABLE_START}\n${TABLE_END}\n`);
    await writeFile(files.results, JSON.stringify({ at: FIRST, machine: {}, results: [{ name: 'x' }] }));
    expect(await saveReport(files, run(SECOND), { signup: [signup(5)] }, ORDER)).toEqual({
      docUpdated: true,
      previousUnreadable: true,
    });
    const stored = parseReport(await readFile(files.results, 'utf8'));
    expect(stored.results.map((row) => row.name)).toEqual(['POST /subscribe']);
  });
});
