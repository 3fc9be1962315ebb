import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredBodyLimit } from '../../src/api/middleware/body-limit.js';

const LIMIT = 1024;
const app = new Hono()
  .use(declaredBodyLimit({ maxSize: LIMIT, onError: (c) => c.text('te groot', 413) }))
  .post('/echo', async (c) => c.json(await c.req.json()));

// Through node-server on a real socket: that is where Content-Length is sent and trusted.
let base = '';
let close: () => Promise<void> = async () => {};
beforeAll(async () => {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(() => close());

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${base}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    duplex: 'half',
  } as RequestInit);

const chunked = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });

describe('declaredBodyLimit', () => {
  it('passes a body within the limit, which the handler reads as usual', async () => {
    const res = await post(JSON.stringify({ naam: 'Fictief' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ naam: 'Fictief' });
  });

  it('refuses a body whose Content-Length is over the limit', async () => {
    const res = await post(JSON.stringify({ naam: 'x'.repeat(LIMIT) }));
    expect(res.status).toBe(413);
    expect(await res.text()).toBe('te groot');
  });

  it('counts a chunked body (no Content-Length) as it streams, within and over the limit', async () => {
    const small = await post(chunked(JSON.stringify({ naam: 'Fictief' })));
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ naam: 'Fictief' });
    const large = await post(chunked(JSON.stringify({ naam: 'x'.repeat(LIMIT) })));
    expect(large.status).toBe(413);
  });
});
