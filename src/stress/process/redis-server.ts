/**
 * A throwaway redis-server, the only implementation of it in sabre: spawned on 127.0.0.1 at a free
 * port (or a given one), ready once it answers PING, killed (SIGKILL: a crash) by `kill()`, brought
 * back on the same port by `restart()`. Used by `sabre stress --store redis` (redis-target.ts,
 * persisting), by `sabre bench tiered` and the tests (bench/support/redis-server.ts,
 * test/support/redis-server.ts), and as the nodes of the throwaway cluster
 * (bench/support/redis-cluster.ts, through `extraArgs`). Not part of any public entry point.
 *
 * Every wait is bounded: the start waits at most `readyMs` for a PING, the kill at most 10 s for
 * the process to go; a server still running when this process exits is killed then (killOnExit).
 * A server is ready only when the process answering PING is the one started here (its
 * `process_id`): a port taken between the choice and the bind would otherwise pass for ready with
 * someone else's server answering.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { IllegalStateError, SabreError } from '../../errors.js';
import { killOnExit } from './exit-guard.js';

/** A redis-server could not be run, or did not become ready (answering PING) in time. */
export class RedisServerNotFoundError extends SabreError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SABRE_NO_REDIS_SERVER', message, options);
  }
}

/** The redis-server binary: `SABRE_REDIS_SERVER`, else `redis-server` on the PATH. */
export function redisServerBinary(): string {
  return process.env.SABRE_REDIS_SERVER ?? 'redis-server';
}

/** `redis-server --version`'s line (bounded by 10 s), or undefined when `binary` cannot be run. */
export function redisServerVersion(binary = redisServerBinary()): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** A port nobody listens on now: the one the OS gives a socket bound to port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * PING and INFO server over a raw socket: true when the server on `port` answers +PONG (so it is
 * not LOADING its append-only file) and is the process `pid`; false on anything else within
 * `timeoutMs`.
 */
function answers(port: number, pid: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('utf8');
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (data: string) => {
      reply += data;
      if (reply.length < 7) return;
      if (!reply.startsWith('+PONG\r\n')) return done(false);
      const match = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (match !== null) done(Number(match[1]) === pid);
    });
  });
}

/** How a {@link RedisServer} runs. */
export interface RedisServerOptions {
  /** The port (default: a free one, chosen now). */
  readonly port?: number;
  /**
   * Persist every acknowledged write (`--appendonly yes --appendfsync always`) in a temp dir of its
   * own, so that it survives `kill()` + `restart()` (default false: `--save '' --appendonly no`).
   */
  readonly persist?: boolean;
  /** More redis-server arguments (a cluster node's), after sabre's own. */
  readonly extraArgs?: readonly string[];
  /**
   * Run the server in a process group of its own (default false), so that a Ctrl-C in the terminal
   * reaches this process and not the server; it is still killed when this process exits.
   */
  readonly ownProcessGroup?: boolean;
  /** How long a start may wait for the server to answer PING, in ms (default 20,000). */
  readonly readyMs?: number;
}

/** The last lines a server printed, kept for the error that says why it did not start. */
const OUTPUT_TAIL = 2_000;

/** A throwaway redis-server this process started on 127.0.0.1. */
export class RedisServer {
  readonly port: number;
  readonly #args: readonly string[];
  readonly #persist: boolean;
  readonly #detached: boolean;
  readonly #readyMs: number;
  #dir: string | undefined;
  #child: ChildProcess | undefined;
  #release: (() => void) | undefined;

  private constructor(port: number, options: RedisServerOptions) {
    this.port = port;
    this.#persist = options.persist ?? false;
    this.#args = options.extraArgs ?? [];
    this.#detached = options.ownProcessGroup ?? false;
    this.#readyMs = options.readyMs ?? 20_000;
  }

  /**
   * Starts a server and waits until it answers PING: a RedisServerNotFoundError when the binary
   * cannot be run or the server is not ready within `readyMs` (nothing is left running then).
   */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const binary = redisServerBinary();
    if (redisServerVersion(binary) === undefined) {
      throw new RedisServerNotFoundError(
        `'${binary}' could not be run (install it, e.g. apt-get install redis-server, or set SABRE_REDIS_SERVER to another binary)`,
      );
    }
    const server = new RedisServer(options.port ?? (await freePort()), options);
    try {
      await server.restart();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server process is running (started, and neither killed nor stopped). */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /**
   * (Re)starts the server on its port and waits, at most `readyMs`, until it answers PING. A
   * persisting server comes back with what it had acknowledged before a `kill()` (not a `stop()`).
   */
  async restart(readyMs = this.#readyMs): Promise<void> {
    if (this.#child !== undefined) throw new IllegalStateError('the redis-server is already running');
    const persistence = ['--appendonly', 'no'];
    if (this.#persist) {
      this.#dir ??= mkdtempSync(join(tmpdir(), 'sabre-redis-'));
      persistence.splice(0, 2, '--dir', this.#dir, '--appendonly', 'yes', '--appendfsync', 'always');
    }
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no', ...this.#args];
    const child = spawn(redisServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: this.#detached });
    this.#child = child;
    this.#release = killOnExit(child);
    // Read (so the server never blocks on a full pipe), keeping the tail for the error below.
    let output = '';
    const keep = (data: Buffer): void => {
      output = (output + data.toString()).slice(-OUTPUT_TAIL);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `it exited with ${signal ?? `code ${code}`}`;
    });
    // A spawn that fails (EAGAIN, a binary gone since the check) emits 'error', maybe no 'exit':
    // without this listener it would be an uncaught exception, and the wait below its full length.
    child.once('error', (error) => {
      exited = `it could not be spawned: ${error.message}`;
    });
    const deadline = Date.now() + readyMs;
    while (child.pid === undefined || !(await answers(this.port, child.pid, 1_000))) {
      if (exited !== undefined || Date.now() > deadline) {
        await this.kill();
        const why = exited ?? 'it did not';
        const tail = output.trim().split('\n').slice(-3).join(' | ');
        throw new RedisServerNotFoundError(
          `redis-server on port ${this.port} did not answer PING within ${readyMs} ms (${why})${tail === '' ? '' : `: ${tail}`}`,
        );
      }
      await sleep(25);
    }
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung host. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Thaws a paused server (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Kills the server as a crash would (SIGKILL, which also ends a paused one) and waits, at most 10 s, until its process has gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#release?.();
    this.#release = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const abort = new AbortController();
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    // The timer is cancelled once the process is gone: it never holds this process up.
    await Promise.race([gone, sleep(10_000, undefined, { signal: abort.signal }).catch(() => {})]);
    abort.abort();
  }

  /** Kills the server and removes its files (a later `restart()` starts it empty). */
  async stop(): Promise<void> {
    await this.kill();
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
