import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from '../deps.js';

/** A Map, not an object: a name like `__proto__` or `constructor` must not look like an asset. */
const ASSETS = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
]);

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Thuispost API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="docs"><p>Loading the API documentation… The raw document is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/assets/init.js"></script></body></html>`;

/** Without swagger-ui-dist on disk (Cloudflare Workers has no node_modules): the document only. */
const plainPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Thuispost API</title></head>
<body><h1>Thuispost API</h1><p>The interactive documentation is not served by this deployment. The OpenAPI 3.1 document is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>; open it in any OpenAPI viewer.</p></body></html>`;

const init = `window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#docs', deepLinking: true });`;

/** Rendered API docs, served from the local swagger-ui-dist package (no CDN; works offline and under CSP). */
export function docsRoutes() {
  const app = new Hono<AppEnv>();
  let assetDir: string | null | undefined;
  const resolveAssetDir = () => {
    if (assetDir === undefined) {
      try {
        assetDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
      } catch {
        assetDir = null;
      }
    }
    return assetDir;
  };

  app.get('/docs', (c) => c.html(resolveAssetDir() ? page : plainPage));
  app.get('/docs/assets/init.js', (c) =>
    c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = ASSETS.get(file);
    const dir = resolveAssetDir();
    if (!type || !dir) return c.notFound();
    const body = await readFile(path.join(dir, file));
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}
