import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MultipartError, multipartBoundary, readMultipart } from '../../src/api/multipart.js';
import { runImport } from '../../src/jobs/processors/subscriber-import.js';
import { systemClock } from '../../src/providers/clock.js';
import { startTestBackground, type TestBackground } from '../helpers/background.js';
import { createTestContext, json, TEST_PASSWORD, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

let ctx: TestContext;
let background: TestBackground;
let editor: { userId: string; headers: Record<string, string> };

beforeAll(async () => {
  ctx = await createTestContext();
  editor = await ctx.userWithToken('editor', 'redacteur-import@voorbeeld.test');
  // The real background side: outbox relay → BullMQ (Redis) → worker → processor.
  background = await startTestBackground(ctx, { clock: systemClock, concurrency: 2, requestsPerSecond: 100 });
});
afterAll(async () => {
  await background.stop();
  await ctx.close();
});

const BOM = '\uFEFF';
let counter = 0;
const address = (name: string) => `${name}-${++counter}@voorbeeld.test`;

function postCsv(
  csv: string | Uint8Array,
  query: string,
  headers: Record<string, string> = editor.headers,
  target = ctx,
) {
  return target.app.request(`/api/v1/subscribers/imports${query}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/csv; charset=utf-8' },
    body: csv as BodyInit,
  });
}

function postForm(
  fields: [string, string | Blob, string?][],
  headers: Record<string, string> = editor.headers,
) {
  const form = new FormData();
  for (const [name, value, filename] of fields) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, filename);
  }
  return ctx.app.request('/api/v1/subscribers/imports', { method: 'POST', headers, body: form });
}

async function statusOf(id: string) {
  const res = await ctx.app.request(`/api/v1/subscribers/imports/${id}`, { headers: editor.headers });
  expect(res.status).toBe(200);
  return res.json();
}

async function finished(id: string) {
  await waitUntil(
    async () => ['done', 'failed'].includes((await statusOf(id)).status),
    `import ${id} to finish`,
    30_000,
  );
  return statusOf(id);
}

async function stored() {
  const count = async (table: 'imports' | 'import_files' | 'import_errors') =>
    Number(
      (
        await ctx.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const outbox = await ctx.db.selectFrom('outbox').select('id').where('queue', '=', 'imports').execute();
  return { imports: await count('imports'), files: await count('import_files'), outbox: outbox.length };
}

async function subscriberRow(email: string) {
  return ctx.db.selectFrom('subscribers').selectAll().where('email', '=', email).executeTakeFirst();
}

describe('POST /api/v1/subscribers/imports', () => {
  it('stores a text/csv upload, answers 202, and the worker imports it with visible progress', async () => {
    const a = address('api-anna');
    const b = address('api-bram');
    const csv = `${BOM}e-mail;naam;taal;onderwerpen\r\n${a};Anna;nl;nieuwsbrief\r\n${b};Bram;en;artikelen|documenten\r\n`;
    const res = await postCsv(csv, '?lawfulBasis=consent&defaultLocale=nl');
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(res.headers.get('location')).toBe(`/api/v1/subscribers/imports/${body.id}`);
    expect(body).toMatchObject({
      status: 'queued',
      dryRun: false,
      lawfulBasis: 'consent',
      total: 2,
      processed: 0,
      progress: 0,
      separator: ';',
      encoding: 'utf-8',
    });
    expect(body.links.errors).toBe(`/api/v1/subscribers/imports/${body.id}/errors.csv`);

    const done = await finished(body.id);
    expect(done).toMatchObject({
      status: 'done',
      total: 2,
      processed: 2,
      progress: 1,
      created: 2,
      errors: 0,
    });
    expect(await subscriberRow(b)).toMatchObject({
      status: 'active',
      source: 'import',
      locale: 'en',
      name: 'Bram',
    });
    const consent = await ctx.db
      .selectFrom('consent_events')
      .innerJoin('subscribers', 'subscribers.id', 'consent_events.subscriber_id')
      .select(['kind', 'lawful_basis', 'consent_events.source'])
      .where('subscribers.email', '=', a)
      .execute();
    expect(consent).toEqual([{ kind: 'imported', lawful_basis: 'consent', source: `import:${body.id}` }]);
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'actor_user_id'])
      .where('target', '=', `import:${body.id}`)
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { action: 'subscriber.import', actor_user_id: editor.userId },
      { action: 'subscriber.import.done', actor_user_id: null },
    ]);
  });

  it('takes a multipart form with the file first and the options after it', async () => {
    const a = address('formulier');
    const file = new Blob([`email,name,topics\n${a},Fien,nieuwsbrief\n`], { type: 'text/csv' });
    const res = await postForm([
      ['file', file, 'leden.csv'],
      ['lawfulBasis', 'legitimate_interest'],
      ['dryRun', 'false'],
      ['defaultTopics', 'artikelen'],
      ['defaultLocale', ''], // a form's "none" choice counts as absent
    ]);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ filename: 'leden.csv', lawfulBasis: 'legitimate_interest', separator: ',' });
    expect(await finished(body.id)).toMatchObject({ status: 'done', created: 1 });
    expect(await subscriberRow(a)).toMatchObject({ name: 'Fien', status: 'active' });
  });

  it('dry run: counts, reports and writes no subscriber', async () => {
    const a = address('droog');
    const res = await postCsv(
      `email;onderwerpen\n${a};nieuwsbrief\nkapot;nieuwsbrief\n`,
      '?lawfulBasis=contract&dryRun=true',
    );
    expect(res.status).toBe(202);
    const done = await finished((await res.json()).id);
    expect(done).toMatchObject({ status: 'done', dryRun: true, created: 1, errors: 1 });
    expect(await subscriberRow(a)).toBeUndefined();
  });

  it('refuses a missing lawful basis with 422 and a field error, and stores nothing', async () => {
    const before = await stored();
    const raw = await postCsv(`email\n${address('geen-grond')}\n`, '?dryRun=true');
    expect(raw.status).toBe(422);
    expect(raw.headers.get('content-type')).toBe('application/problem+json');
    const problem = await raw.json();
    expect(problem.errors).toEqual([
      { field: 'lawfulBasis', message: expect.stringMatching(/lawful basis/) },
    ]);

    // In a form the options may follow the file: the stored chunks are rolled back.
    const form = await postForm([
      ['file', new Blob([`email\n${address('geen-grond')}\n`]), 'x.csv'],
      ['lawfulBasis', 'because'],
    ]);
    expect(form.status).toBe(422);
    expect((await form.json()).errors).toEqual([
      { field: 'lawfulBasis', message: expect.stringMatching(/moet consent, legitimate_interest/) },
    ]);
    expect(await stored()).toEqual(before);
  });

  it('answers 415 to other content types and 422 to files it cannot read, storing nothing', async () => {
    const before = await stored();
    const asJson = await ctx.app.request(
      '/api/v1/subscribers/imports?lawfulBasis=consent',
      json({ email: 'a@voorbeeld.test' }, editor.headers),
    );
    expect(asJson.status).toBe(415);
    expect(asJson.headers.get('content-type')).toBe('application/problem+json');
    const asText = await ctx.app.request('/api/v1/subscribers/imports?lawfulBasis=consent', {
      method: 'POST',
      headers: { ...editor.headers, 'content-type': 'text/plain' },
      body: 'email\n',
    });
    expect(asText.status).toBe(415);

    const cases: [string | Uint8Array, string, RegExp][] = [
      ['naam;taal\nJan;nl\n', '', /kolom e-mail/],
      ['', '', /leeg/],
      ['email\n', '', /geen regels/],
      [new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]), '', /Excel-werkmap/],
      [`email\n${address('x')}\n`, '&defaultTopics=nieuwsbrief,tuinieren', /tuinieren/],
    ];
    for (const [body, extra, message] of cases) {
      const res = await postCsv(body, `?lawfulBasis=consent${extra}`);
      expect(res.status, String(message)).toBe(422);
      const problem = await res.json();
      expect(problem.errors[0].message).toMatch(message);
      expect(problem.errors[0].field).toBe(extra ? 'defaultTopics' : 'file');
    }
    expect(await stored()).toEqual(before);
  });

  it('refuses more than 50 MB with 413: by Content-Length at once, or while streaming', async () => {
    const before = await stored();
    const declared = await ctx.app.request('/api/v1/subscribers/imports?lawfulBasis=consent', {
      method: 'POST',
      headers: { ...editor.headers, 'content-type': 'text/csv', 'content-length': String(60 * 1024 * 1024) },
      body: 'email\n',
    });
    expect(declared.status).toBe(413);
    expect((await declared.json()).detail).toMatch(/50 MB/);

    // No Content-Length (chunked): counted while it streams into Postgres, then rolled back.
    const line = new TextEncoder().encode(`${'lid@voorbeeld.test;Een Naam\n'.repeat(37_449)}`); // ~1 MB
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('email;naam\n'));
        if (sent++ >= 52) controller.close();
        else controller.enqueue(line);
      },
    });
    const streamed = await ctx.app.request('/api/v1/subscribers/imports?lawfulBasis=consent', {
      method: 'POST',
      headers: { ...editor.headers, 'content-type': 'text/csv' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await stored()).toEqual(before);
  });

  it('is for editors: a viewer gets 403, nobody gets in anonymously', async () => {
    const viewer = await ctx.userWithToken('viewer');
    expect((await postCsv('email\n', '?lawfulBasis=consent', viewer.headers)).status).toBe(403);
    expect((await postCsv('email\n', '?lawfulBasis=consent', {})).status).toBe(401);
    expect(
      (await ctx.app.request('/api/v1/subscribers/export.csv', { headers: viewer.headers })).status,
    ).toBe(403);
  });

  it('accepts a browser form with a session and the CSRF token as a form field', async () => {
    await ctx.userWithToken('editor', 'sessie-import@voorbeeld.test');
    const login = await ctx.app.request(
      '/api/v1/auth/login',
      json({ email: 'sessie-import@voorbeeld.test', password: TEST_PASSWORD }),
    );
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = await login.json();
    const a = address('sessie');
    const file = new Blob([`email;onderwerpen\n${a};nieuwsbrief\n`]);
    const withoutToken = await postForm(
      [
        ['lawfulBasis', 'consent'],
        ['file', file, 'a.csv'],
      ],
      { cookie },
    );
    expect(withoutToken.status).toBe(403);
    const res = await postForm(
      [
        ['_csrf', csrfToken],
        ['lawfulBasis', 'consent'],
        ['file', file, 'a.csv'],
      ],
      { cookie },
    );
    expect(res.status).toBe(202);
    expect(await finished((await res.json()).id)).toMatchObject({ status: 'done', created: 1 });
  });
});

describe('GET /api/v1/subscribers/imports/{id}[/errors.csv]', () => {
  it('serves the per-line report as CSV, with `;` and a BOM on request', async () => {
    const good = address('rapport');
    const csv = `email;naam;onderwerpen\n${good};Goed;nieuwsbrief\nfout-adres;"=HYPERLINK(""x"")";nieuwsbrief\n${good};Dubbel;nieuwsbrief\n`;
    const { id } = await (await postCsv(csv, '?lawfulBasis=consent')).json();
    expect(await finished(id)).toMatchObject({ created: 1, errors: 1, skipped: 1 });

    const res = await ctx.app.request(`/api/v1/subscribers/imports/${id}/errors.csv`, {
      headers: editor.headers,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="import-${id}-report.csv"`);
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('line,value,reason');
    expect(lines[1]).toMatch(/^3,fout-adres,/);
    expect(lines[2]).toBe(`4,${good},Dubbel in het bestand: regel 2 gaat voor.`);
    expect(lines[3]).toBe('');

    const dutch = await ctx.app.request(
      `/api/v1/subscribers/imports/${id}/errors.csv?separator=semicolon&bom=true`,
      { headers: editor.headers },
    );
    // Response.text() would drop the BOM: read the bytes.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await dutch.arrayBuffer());
    expect(text.startsWith(`${BOM}line;value;reason\r\n3;fout-adres;`)).toBe(true);
  });

  it('answers 404 for an unknown import', async () => {
    for (const path of [
      '/api/v1/subscribers/imports/999999',
      '/api/v1/subscribers/imports/999999/errors.csv',
    ]) {
      const res = await ctx.app.request(path, { headers: editor.headers });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});

describe('GET /api/v1/subscribers/export.csv', () => {
  it('exports active subscribers with the import columns, filters by status and topic, and audits', async () => {
    const a = address('export-a');
    const b = address('export-b');
    const gone = address('export-weg');
    const csv = `email;naam;taal;onderwerpen;organisatie\n${a};"Jansen; Piet";en;nieuwsbrief|artikelen;Woonstichting Export\n${b};=SOM(1+1);nl;documenten;\n${gone};Weg;nl;nieuwsbrief;\n`;
    const { id } = await (await postCsv(csv, '?lawfulBasis=consent')).json();
    expect(await finished(id)).toMatchObject({ created: 3 });
    await ctx.db
      .updateTable('subscribers')
      .set({ status: 'unsubscribed' })
      .where('email', '=', gone)
      .execute();

    const res = await ctx.app.request(
      '/api/v1/subscribers/export.csv?separator=semicolon&bom=true&topic=nieuwsbrief',
      { headers: editor.headers },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="subscribers-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
    expect(text.startsWith(`${BOM}email;name;locale;topics;organisation\r\n`)).toBe(true);
    expect(text).toContain(`${a};"Jansen; Piet";en;nieuwsbrief|artikelen;Woonstichting Export\r\n`);
    expect(text).not.toContain(b);
    expect(text).not.toContain(gone);

    const all = await (
      await ctx.app.request('/api/v1/subscribers/export.csv', { headers: editor.headers })
    ).text();
    // A value that a spreadsheet would run as a formula gets a leading apostrophe.
    expect(all).toContain(`${b},'=SOM(1+1),nl,documenten,\r\n`);
    const unsubscribed = await (
      await ctx.app.request('/api/v1/subscribers/export.csv?status=unsubscribed', { headers: editor.headers })
    ).text();
    expect(unsubscribed).toContain(gone);
    expect(unsubscribed).not.toContain(a);

    const unknown = await ctx.app.request('/api/v1/subscribers/export.csv?topic=tuinieren', {
      headers: editor.headers,
    });
    expect(unknown.status).toBe(422);
    expect((await unknown.json()).errors[0].field).toBe('topic');
    const bad = await ctx.app.request('/api/v1/subscribers/export.csv?status=weg', {
      headers: editor.headers,
    });
    expect(bad.status).toBe(422);

    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['details'])
      .where('action', '=', 'subscriber.export')
      .orderBy('id')
      .execute();
    expect(audit[0]!.details).toEqual({ status: 'active', topic: 'nieuwsbrief' });
    expect(audit.length).toBeGreaterThanOrEqual(3);
  });

  it('round-trips: exporting and importing into a fresh database gives the same subscribers', async () => {
    const people = [
      [address('rond-a'), 'Anna "Ankie" de Wit', 'nl', 'nieuwsbrief', 'Gemeente Rondstad'],
      [address('rond-b'), 'Vries, Bram de', 'en', 'artikelen|documenten', ''],
      [address('rond-c'), '', 'nl', 'documenten', 'Zorg; en Welzijn'],
      [address('rond-d'), '+31 Lid', 'en', 'nieuwsbrief|artikelen|documenten', '@Thuis'],
      [address('rond-e'), 'Ümit Çelik', 'nl', 'nieuwsbrief', 'Gemeente Rondstad'],
    ];
    const csv = [
      'email,name,locale,topics,organisation',
      ...people.map((p) => p.map((v) => (/[",]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',')),
    ].join('\n');
    const { id } = await (await postCsv(csv, '?lawfulBasis=legitimate_interest')).json();
    expect(await finished(id)).toMatchObject({ created: 5, errors: 0 });

    const exported = new Uint8Array(
      await (
        await ctx.app.request('/api/v1/subscribers/export.csv?separator=semicolon&bom=true', {
          headers: editor.headers,
        })
      ).arrayBuffer(),
    );
    expect([...exported.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const fresh = await createTestContext();
    try {
      const freshEditor = await fresh.userWithToken('editor');
      const res = await postCsv(exported, '?lawfulBasis=legitimate_interest', freshEditor.headers, fresh);
      expect(res.status).toBe(202);
      const result = await runImport(fresh.db, (await res.json()).id, {
        logger: fresh.deps.logger,
        clock: systemClock,
      });
      expect(result.outcome).toBe('done');
      const snapshot = async (target: TestContext) => {
        const rows = await target.db
          .selectFrom('subscribers as s')
          .leftJoin('organisations as o', 'o.id', 's.organisation_id')
          .select(['s.email', 's.name', 's.locale', 's.status', 'o.name as organisation'])
          .select((eb) =>
            eb
              .selectFrom('subscriptions as x')
              .innerJoin('topics as t', 't.id', 'x.topic_id')
              .select((e) => e.fn<string>('string_agg', [e.ref('t.slug'), e.val(',')]).as('topics'))
              .whereRef('x.subscriber_id', '=', 's.id')
              .as('topics'),
          )
          .where('s.status', '=', 'active')
          .orderBy('s.email')
          .execute();
        return rows.map((row) => ({ ...row, topics: row.topics?.split(',').sort().join(',') ?? '' }));
      };
      const original = await snapshot(ctx);
      const copy = await snapshot(fresh);
      expect(copy).toEqual(original);
      expect(copy.find((row) => row.email === people[3]![0])).toMatchObject({
        name: '+31 Lid',
        organisation: '@Thuis',
      });
    } finally {
      await fresh.close();
    }
  });
});

describe('streaming multipart reader', () => {
  const boundary = 'grens-1234';
  // File content with near-misses of the delimiter: CRLF, dashes, a partial boundary.
  const fileText = `email\r\n--grens-12\r\n\r\n--\r\n-- grens-1234\r\nÉén;twee\r\n`;
  const body = [
    '--grens-1234\r\n',
    'Content-Disposition: form-data; name="lawfulBasis"\r\n\r\n',
    'consent\r\n--grens-1234\r\n',
    `Content-Disposition: form-data; name="file"; filename="x.csv"; filename*=UTF-8''l%C3%A9den.csv\r\n`,
    'Content-Type: text/csv\r\n\r\n',
    `${fileText}\r\n--grens-1234--\r\n`,
  ].join('');
  const bytes = new TextEncoder().encode(body);

  function chunked(data: Uint8Array, size: number) {
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= data.length) controller.close();
        else {
          controller.enqueue(data.slice(offset, offset + size));
          offset += size;
        }
      },
    });
  }

  async function read(stream: ReadableStream<Uint8Array>) {
    const fields: Record<string, string> = {};
    const files: { name: string; filename: string | null; data: number[] }[] = [];
    await readMultipart(stream, boundary, {
      onField: (name, value) => {
        fields[name] = value;
      },
      onFile: (part) => {
        const file = { name: part.name, filename: part.filename, data: [] as number[] };
        files.push(file);
        return {
          write: async (chunk: Uint8Array) => {
            file.data.push(...chunk);
          },
        };
      },
    });
    return { fields, files };
  }

  it('gives the same parts whatever the network chunk sizes', async () => {
    expect(multipartBoundary(`multipart/form-data; boundary="${boundary}"`)).toBe(boundary);
    expect(multipartBoundary('text/csv')).toBeNull();
    for (const size of [1, 2, 3, 5, 13, 17, 64, bytes.length]) {
      const { fields, files } = await read(chunked(bytes, size));
      expect(fields, `chunks of ${size}`).toEqual({ lawfulBasis: 'consent' });
      expect(files).toHaveLength(1);
      expect(files[0]!.filename).toBe('léden.csv');
      expect(new TextDecoder().decode(new Uint8Array(files[0]!.data)), `chunks of ${size}`).toBe(fileText);
    }
  });

  it('refuses a body that ends before its closing boundary', async () => {
    const cut = bytes.subarray(0, bytes.length - 20);
    await expect(read(chunked(cut, 7))).rejects.toBeInstanceOf(MultipartError);
  });
});
