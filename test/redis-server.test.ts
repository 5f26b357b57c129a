/**
 * sabre's one throwaway redis-server (src/stress/process/redis-server.ts: the tests', the bench's
 * and `sabre stress --store redis`'s): ready only when its own process answers, a persisting one
 * keeps what it acknowledged across a crash and removes its files at stop, pause/resume freezes
 * and thaws it, and a binary that cannot be run is a typed error. Every server is stopped in a
 * finally; every wait is bounded (the servers' own bounds, and the PINGs' timeouts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { redisCli } from '../bench/support/redis-cluster.js';
import { RedisServerNotFoundError } from '../src/stress/process/redis-server.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

describe.skipIf(!redisAvailable)('the throwaway redis-server', () => {
  it('is never ready with another server answering on its port: a port already taken is a RedisServerNotFoundError', async () => {
    const first = await RedisServer.start();
    try {
      // The second one cannot bind, and exits; the first answers PING on that port all along.
      const failure = await RedisServer.start({ port: first.port, readyMs: 10_000 }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(RedisServerNotFoundError);
      expect((failure as Error).message).toMatch(/did not answer PING .*it exited/);
      expect(await redisCli(first.port, 'PING')).toBe('PONG');
    } finally {
      await first.stop();
    }
  });

  it('persisting: what it acknowledged survives kill + restart on the same port; stop removes its files', async () => {
    const server = await RedisServer.start({ persist: true });
    try {
      expect(await redisCli(server.port, 'SET', 'kept', 'yes')).toBe('OK');
      const dir = (await redisCli(server.port, 'CONFIG', 'GET', 'dir')).split('\n')[1]!;
      expect(existsSync(dir)).toBe(true);
      await server.kill();
      expect(server.running).toBe(false);
      await server.restart();
      expect(await redisCli(server.port, 'GET', 'kept')).toBe('yes');
      await server.stop();
      expect(existsSync(dir)).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('not persisting: a restart after stop is an empty server on the same port', async () => {
    const server = await RedisServer.start();
    try {
      expect(await redisCli(server.port, 'SET', 'gone', 'yes')).toBe('OK');
      await server.stop();
      await server.restart();
      expect(await redisCli(server.port, 'EXISTS', 'gone')).toBe('0');
      await expect(server.restart()).rejects.toMatchObject({ code: 'ERR_SABRE_ILLEGAL_STATE' });
    } finally {
      await server.stop();
    }
  });

  it('pause freezes it (a PING is not answered), resume thaws it', async () => {
    const server = await RedisServer.start();
    try {
      server.pause();
      // redis-cli's own timeout is longer than redisCli's 10 s bound: the call fails by that bound.
      await expect(redisCli(server.port, 'PING')).rejects.toThrow();
      server.resume();
      expect(await redisCli(server.port, 'PING')).toBe('PONG');
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('a SIGTERM to the process that started it kills it too, in its own process group (as `sabre stress --store redis` runs it)', async () => {
    const module = new URL('../dist/src/stress/process/redis-server.js', import.meta.url).href;
    expect(existsSync(new URL(module)), `${module} is missing: run \`npm run build\` first`).toBe(true);
    const script = `import { RedisServer } from ${JSON.stringify(module)};
      const server = await RedisServer.start({ persist: true, ownProcessGroup: true });
      console.log(server.port);
      setInterval(() => {}, 1_000);`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => owner.once('exit', (_code, signal) => resolve(signal)));
    let port: number | undefined;
    try {
      const line = await Promise.race([createInterface({ input: owner.stdout! })[Symbol.asyncIterator]().next(), exited.then(() => ({ value: undefined }))]);
      port = Number(line.value);
      expect(Number.isInteger(port), `the owner printed no port (${line.value})`).toBe(true);
      expect(await redisCli(port, 'PING')).toBe('PONG');
      owner.kill('SIGTERM');
      expect(await exited).toBe('SIGTERM'); // it still ends as a SIGTERM ends it
      // Its server is gone too (bounded: at most 100 attempts).
      let answering = true;
      for (let i = 0; i < 100 && answering; i++) {
        answering = await redisCli(port, 'PING').then(
          () => true,
          () => false,
        );
        if (answering) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(answering, 'the redis-server outlived the process that started it').toBe(false);
    } finally {
      owner.kill('SIGKILL');
      // An orphan left by a failure must not outlive the test either.
      if (port !== undefined) await redisCli(port, 'SHUTDOWN', 'NOSAVE').catch(() => undefined);
    }
  });

  it('a binary that cannot be run is a RedisServerNotFoundError', async () => {
    const saved = process.env.SABRE_REDIS_SERVER;
    process.env.SABRE_REDIS_SERVER = '/nonexistent/redis-server';
    try {
      await expect(RedisServer.start()).rejects.toBeInstanceOf(RedisServerNotFoundError);
    } finally {
      if (saved === undefined) delete process.env.SABRE_REDIS_SERVER;
      else process.env.SABRE_REDIS_SERVER = saved;
    }
  });
});
