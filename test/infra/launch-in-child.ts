import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Starts an embedded service from a separate Node process (via tsx), the way a service process
 * would, so that a test can SIGKILL that process and watch what happens to the child it started.
 * `info.pid` is the Node process that spawned the service (tsx runs the script in a child node).
 */
export async function launchInChild(
  root: string,
  dataDir: string,
  launcher: {
    module: 'embedded-postgres' | 'embedded-redis';
    exportName: 'startEmbeddedPostgres' | 'startEmbeddedRedis';
  },
  timeoutMs: number,
): Promise<{ child: ChildProcess; info: { url: string; pid: number } }> {
  const script = path.join(dataDir, 'launch.mts');
  const entry = pathToFileURL(path.join(root, `src/infra/${launcher.module}.ts`)).href;
  fs.writeFileSync(
    script,
    `import { ${launcher.exportName} } from ${JSON.stringify(entry)};
const noop = () => {};
const logger = { info: noop, warn: noop, debug: noop, error: noop, trace: noop, fatal: noop, child: () => logger };
const svc = await ${launcher.exportName}({ dataDir: process.argv[2], logger });
console.log(JSON.stringify({ url: svc.url, pid: process.pid }));
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [script, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const info = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`child did not report within ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string; pid: number });
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}): ${stderr}`)));
  });
  return { child, info };
}

/** Runs `attempt` while something else holds a loopback port, and returns the error it fails with. */
export async function failureOnTakenPort(attempt: (port: number) => Promise<unknown>): Promise<Error> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    return await attempt(port).then(
      () => new Error('expected a failure'),
      (e: Error) => e,
    );
  } finally {
    blocker.close();
  }
}
