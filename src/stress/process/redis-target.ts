/**
 * The Redis server a process run (`sabre stress --store …`) works against: a URL the user gives
 * (`redis://host:port`), or `redis`, a throwaway redis-server that sabre starts from PATH on a
 * free loopback port and stops at the end. Only a server sabre owns can be killed and restarted
 * mid-run (scenario H); it persists every acknowledged write (`--appendonly yes --appendfsync
 * always`, in a temp dir), so that what a client was told is stored survives the restart.
 *
 * Every wait is bounded: the start waits at most `readyMs` for a PING, the stop at most 10 s for
 * the process to go; a server still running when this process exits is killed then (see
 * {@link killOnExit}).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, SabreError } from '../../errors.js';
import { RedisCache } from '../../redis/index.js';
import { killOnExit } from './exit-guard.js';

/** `--store redis` asked sabre to start a redis-server, and none could be run. */
export class RedisServerNotFoundError extends SabreError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SABRE_NO_REDIS_SERVER', message, options);
  }
}

/** Where a process run's Redis is: its URL, and the server itself when sabre owns it. */
export interface RedisTarget {
  readonly url: string;
  /** The server sabre started (`--store redis`): the only one a scenario may kill and restart. */
  readonly owned: OwnedRedisServer | undefined;
  /** Stops an owned server (nothing for an external one). */
  close(): Promise<void>;
}

/** The redis-server binary `--store redis` runs (SABRE_REDIS_SERVER overrides it). */
export function redisServerBinary(): string {
  return process.env.SABRE_REDIS_SERVER ?? 'redis-server';
}

/**
 * Opens what `--store` names: `redis` (start one), or a `redis://` / `rediss://` URL (used as it
 * is). Anything else is an InvalidArgumentError; no redis-server on PATH is a
 * RedisServerNotFoundError; a URL that cannot be reached is a StoreUnavailableError.
 */
export async function openRedisTarget(store: string): Promise<RedisTarget> {
  if (store === 'redis') {
    const server = await OwnedRedisServer.start();
    return { url: server.url, owned: server, close: () => server.stop() };
  }
  if (!/^rediss?:\/\/./.test(store)) {
    throw new InvalidArgumentError(`--store must be 'redis' (sabre starts its own redis-server) or a redis:// URL, got '${store}'`);
  }
  // Reached now, so that a wrong URL is one clear error before any actor starts (a StoreUnavailableError).
  const probe = await RedisCache.connect({ url: store, connectTimeoutMs: 5_000 });
  await probe.close();
  return { url: store, owned: undefined, close: async () => {} };
}

/** A redis-server this process started, on 127.0.0.1, persisting to a temp dir; stop() removes it. */
export class OwnedRedisServer {
  readonly port: number;
  readonly #dir: string;
  readonly #binary: string;
  #child: ChildProcess | undefined;
  #release: (() => void) | undefined;

  private constructor(port: number, dir: string, binary: string) {
    this.port = port;
    this.#dir = dir;
    this.#binary = binary;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port (RedisServerNotFoundError when the binary cannot be run). */
  static async start(readyMs = 20_000): Promise<OwnedRedisServer> {
    const binary = redisServerBinary();
    try {
      execFileSync(binary, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    } catch (error) {
      throw new RedisServerNotFoundError(
        `--store redis needs a redis-server to start, and '${binary}' could not be run (install it, e.g. apt-get install redis-server, set SABRE_REDIS_SERVER, or give --store redis://host:port)`,
        { cause: error },
      );
    }
    const server = new OwnedRedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'sabre-stress-redis-')), binary);
    try {
      await server.restart(readyMs);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** (Re)starts the server on its port, from its append-only file, and waits until it answers PING. */
  async restart(readyMs = 20_000): Promise<void> {
    if (this.#child !== undefined) throw new SabreError('ERR_SABRE_ILLEGAL_STATE', 'the redis-server is already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir, '--save', '', '--appendonly', 'yes'];
    // Its own process group: a Ctrl-C in the terminal is for sabre (which stops at the next trial),
    // not for the server under a trial; sabre kills it itself (and at exit: killOnExit).
    const child = spawn(this.#binary, [...args, '--appendfsync', 'always', '--daemonize', 'no'], { stdio: 'ignore', detached: true });
    this.#child = child;
    this.#release = killOnExit(child);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + readyMs;
    while (!(await ping(this.port, 1_000))) {
      if (exited || Date.now() > deadline) {
        await this.kill();
        throw new RedisServerNotFoundError(`redis-server on port ${this.port} did not answer PING within ${readyMs} ms${exited ? ' (it exited)' : ''}`);
      }
      await sleep(25);
    }
  }

  /** Kills the server as a crash would (SIGKILL) and waits, at most 10 s, until its process has gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#release?.();
    this.#release = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await Promise.race([gone, sleep(10_000, undefined, { ref: false })]);
  }

  /** Kills the server and removes its files. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A port nobody listens on now: the one the OS gives a socket bound to port 0. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One PING over a raw socket: true on +PONG, false on anything else within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
