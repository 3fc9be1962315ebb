import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARIABLES, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({}, '/srv/thuispost');
    expect(config.port).toBe(3000);
    expect(config.publicBaseUrl).toBe('http://localhost:3000');
    expect(config.dataDir).toBe('/srv/thuispost/.data');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.linkedin.apiBaseUrl).toBe('https://api.linkedin.com');
    expect(config.linkedin.version).toMatch(/^20\d{4}$/);
  });

  it('derives the public URL from PORT', () => {
    expect(loadConfig({ PORT: '8080' }).publicBaseUrl).toBe('http://localhost:8080');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PUBLIC_BASE_URL', 'ftp://example.org'],
    ['DATABASE_URL', 'mysql://localhost/x'],
    ['REDIS_URL', 'localhost:6379'],
    ['LOG_LEVEL', 'loud'],
    ['EMAIL_FROM', 'not an address'],
    ['LINKEDIN_VERSION', '2025'],
    ['RESEND_WEBHOOK_SECRET', 'abc'],
    ['APP_SECRET', 'short'],
    ['METRICS_TOKEN', 'kort'],
    ['METRICS_TOKEN', `${'x'.repeat(40)} met spaties`],
    ['TRUSTED_PROXIES', '10.0.0.0/33'],
    ['TRUSTED_PROXIES', 'proxy.example.org'],
  ])('names %s when it is %s', (variable, value) => {
    try {
      loadConfig({ [variable]: value });
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems.map((p) => p.variable)).toContain(variable);
      expect((error as ConfigError).message).toContain(variable);
    }
  });

  it('lists every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y' });
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['LOG_LEVEL', 'PORT']);
    }
  });

  it('requires APP_SECRET when an external database is configured', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://localhost/x' })).toThrow(/APP_SECRET/);
    const config = loadConfig({ DATABASE_URL: 'postgres://localhost/x', APP_SECRET: 'x'.repeat(40) });
    expect(config.databaseUrl).toBe('postgres://localhost/x');
  });

  it('treats empty values as unset', () => {
    const config = loadConfig({ DATABASE_URL: '', RESEND_API_KEY: ' ', PUBLIC_BASE_URL: '' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.resend.apiKey).toBeUndefined();
  });
});

describe('documentation of the configuration', () => {
  it('lists every variable in the docs/configuration.md table and in .env.example', () => {
    const docs = readFileSync('docs/configuration.md', 'utf8');
    const example = readFileSync('.env.example', 'utf8');
    for (const name of ENV_VARIABLES) {
      expect(docs, `docs/configuration.md documents ${name}`).toContain(`\`${name}\``);
      expect(example, `.env.example lists ${name}`).toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });
});
