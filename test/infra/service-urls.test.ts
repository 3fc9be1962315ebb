import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../../src/infra/embedded-postgres.js';
import { redisUrl } from '../../src/infra/embedded-redis.js';
import { redactUrl } from '../../src/infra/logger.js';

/** Every character a password file may hold, the URL-special ones included. */
const PASSWORD = 'Ab0._~+/=-Ab0._~+/=-';

describe('the URLs of the embedded services', () => {
  it('carry the password percent-encoded, as the drivers read it back', () => {
    const url = postgresUrl(5433, 'thuis post', PASSWORD);
    expect(url).toBe(`postgres://thuispost:${encodeURIComponent(PASSWORD)}@127.0.0.1:5433/thuis%20post`);
    const client = new pg.Client({ connectionString: url });
    expect({
      user: client.user,
      password: client.password,
      host: client.host,
      port: client.port,
      database: client.database,
    }).toEqual({
      user: 'thuispost',
      password: PASSWORD,
      host: '127.0.0.1',
      port: 5433,
      database: 'thuis post',
    });

    const redis = redisUrl(6380, PASSWORD);
    expect(redis).toBe(`redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:6380`);
    const redisClient = new Redis(redis, { lazyConnect: true });
    try {
      expect(redisClient.options).toMatchObject({ password: PASSWORD, host: '127.0.0.1', port: 6380 });
    } finally {
      redisClient.disconnect();
    }
  });

  it('are logged without the password', () => {
    expect(redactUrl(postgresUrl(5433, 'thuispost', PASSWORD))).toBe(
      'postgres://thuispost:***@127.0.0.1:5433/thuispost',
    );
    expect(redactUrl(redisUrl(6380, PASSWORD))).toBe('redis://:***@127.0.0.1:6380');
  });
});
