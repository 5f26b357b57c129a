/**
 * A throwaway redis-server: spawned on 127.0.0.1 at a free port, with no persistence
 * (`--save '' --appendonly no`), ready once it answers PING, stopped by `stop()`. Every wait here
 * is bounded, so nothing hangs on a server that will not start or stop. Shared by the tests
 * (test/support/redis-server.ts adds their skip-or-require policy) and `sabre bench tiered`
 * (which starts one when no --redis is given).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** The server binary: `SABRE_REDIS_SERVER`, else `redis-server` on the PATH. */
export const REDIS_SERVER = process.env.SABRE_REDIS_SERVER ?? 'redis-server';

/** `redis-server --version`'s line, or undefined when there is no server to run here. */
export function findRedisServer(): string | undefined {
  try {
    return execFileSync(REDIS_SERVER, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
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

/** One PING over a raw socket: true on +PONG, false on anything else within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A running throwaway server. `stop()` kills it (SIGKILL: nothing to save); `start()` brings it back on the same port. */
export class RedisServer {
  readonly port: number;
  /** Extra redis-server arguments (a cluster node's: test/support/redis-cluster.ts). */
  readonly #extraArgs: readonly string[];
  #child: ChildProcess | undefined;

  private constructor(port: number, extraArgs: readonly string[]) {
    this.port = port;
    this.#extraArgs = extraArgs;
  }

  /** Whether the server process is running (started and not stopped). */
  get running(): boolean {
    return this.#child !== undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server on a free port (or `port`) with `extraArgs` and waits (at most `readyMs`)
   * until it answers PING.
   */
  static async start(readyMs = 20_000, options: { port?: number; extraArgs?: readonly string[] } = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options.extraArgs ?? []);
    await server.start(readyMs);
    return server;
  }

  /** (Re)starts the server on its port and waits until it answers PING. */
  async start(readyMs = 20_000): Promise<void> {
    if (this.#child !== undefined) throw new Error('the redis-server is already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.#extraArgs];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + readyMs;
    while (!(await ping(this.port, 1_000))) {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL');
        this.#child = undefined;
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${readyMs} ms${exited ? ' (it exited)' : ''}`);
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

  /** Kills the server (as a crash would) and waits, at most 10 s, until its process has gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL'); // also ends a paused (SIGSTOPped) server
    await Promise.race([gone, sleep(10_000)]);
  }
}
