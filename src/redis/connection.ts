/**
 * One connection to Redis through @redis/client (node-redis 5), with what the cache needs on top:
 *
 * - a timeout on every call (node-redis only times out a command still waiting to be written; a
 *   command already sent to a server that stopped answering would wait forever);
 * - transport failures (refused, closed, timed out, offline while reconnecting), and the replies
 *   of a server that cannot serve yet (LOADING after a restart), turned into
 *   StoreUnavailableError; any other error *reply* from the server passes through as it is;
 * - availability tracking: the state flips to 'unavailable' on a transport failure and back to
 *   'available' when a call succeeds or the client has reconnected, and the listener hears each
 *   flip once (never each call);
 * - scripts by EVALSHA, sent again with EVAL when the server does not know them (after a restart).
 *
 * @redis/client is an optional peer dependency: it is loaded here, at module load, and its
 * absence makes importing sabre/redis fail with a MissingPeerError saying what to install.
 */
import { createHash } from 'node:crypto';
import type * as RedisModule from '@redis/client';
import { IllegalStateError } from '../errors.js';
import { MissingPeerError, StoreUnavailableError } from './errors.js';
import type { RedisCacheConfig } from './options.js';

const redis: typeof RedisModule = await import('@redis/client').catch((error: unknown) => {
  throw new MissingPeerError('@redis/client', 'sabre/redis', { cause: error });
});

type Client = RedisModule.RedisClientType<RedisModule.RedisModules, RedisModule.RedisFunctions, RedisModule.RedisScripts, 3>;
type Arg = string | Buffer;
export type Availability = 'available' | 'unavailable';

/** Replies with bulk strings as Buffers: values are bytes. */
const BUFFERS = { typeMapping: { [redis.RESP_TYPES.BLOB_STRING]: Buffer } };

/** A Lua script and its SHA1 (what EVALSHA names it by). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function defineScript(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Reconnection backoff: 50 ms doubling to 1 s, for as long as the cache is open. */
const reconnectDelay = (retries: number) => Math.min(50 * 2 ** retries, 1_000);

export class Connection {
  readonly #client: Client;
  readonly #timeoutMs: number;
  readonly #onState: (state: Availability, cause: unknown) => void;
  #state: Availability = 'available';
  #closed = false;
  /** Calls that failed for want of Redis (timeouts included), and timeouts alone. */
  unavailableCalls = 0;
  timeouts = 0;

  private constructor(client: Client, config: RedisCacheConfig, onState: (state: Availability, cause: unknown) => void) {
    this.#client = client;
    this.#timeoutMs = config.commandTimeoutMs;
    this.#onState = onState;
    // node-redis reports every failed (re)connection as an 'error' event, and an EventEmitter with
    // no 'error' listener would crash the process: the calls report failures instead.
    client.on('error', () => {});
    client.on('ready', () => this.#setState('available', undefined));
  }

  /** Connects; a server that cannot be reached within `connectTimeoutMs` is a StoreUnavailableError (and nothing is left open). */
  static async open(config: RedisCacheConfig, onState: (state: Availability, cause: unknown) => void): Promise<Connection> {
    const client = redis.createClient({
      url: config.url,
      RESP: 3,
      // Fail at once while reconnecting instead of queueing calls that the fail-safe should answer.
      disableOfflineQueue: true,
      socket: { connectTimeout: config.connectTimeoutMs, reconnectStrategy: reconnectDelay },
    }) as Client;
    const connection = new Connection(client, config, onState);
    let timer: NodeJS.Timeout | undefined;
    try {
      // node-redis retries a first connection forever: the deadline is ours.
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${config.connectTimeoutMs} ms`)), config.connectTimeoutMs);
        }),
      ]);
    } catch (error) {
      client.destroy();
      throw new StoreUnavailableError(`cannot connect to Redis at ${redact(config.url)}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    return connection;
  }

  get state(): Availability {
    return this.#state;
  }

  /** Runs one command; bulk strings come back as Buffers. */
  async call<T>(args: readonly Arg[]): Promise<T> {
    if (this.#closed) throw new IllegalStateError('the RedisCache is closed');
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.#client.sendCommand<T>(args, BUFFERS),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CallTimeout(this.#timeoutMs)), this.#timeoutMs);
        }),
      ]);
      this.#setState('available', undefined);
      return reply;
    } catch (error) {
      if (error instanceof redis.ErrorReply && !UNAVAILABLE_REPLY.test(error.message)) {
        this.#setState('available', undefined); // the server answered
        throw error;
      }
      if (this.#closed) throw new IllegalStateError('the RedisCache is closed');
      this.unavailableCalls++;
      if (error instanceof CallTimeout) this.timeouts++;
      this.#setState('unavailable', error);
      throw new StoreUnavailableError(`Redis is unavailable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a script by its SHA1, sending its source when the server does not have it. */
  async script<T>(script: Script, keys: readonly Buffer[], args: readonly Arg[]): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.call<T>(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof redis.ErrorReply) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.call<T>(['EVAL', script.source, ...tail]);
    }
  }

  /**
   * A second connection for pub/sub (a subscribed connection can run nothing else), connecting in
   * the background: nobody waits for it, and node-redis subscribes again after each reconnection
   * (before its 'ready'). `synced` is called each time the subscription is in place (messages
   * flow from then on), `lost` each time the connection fails (messages may be missed until the
   * next `synced`). Returns what closes it.
   */
  subscribe(channel: string, listener: (message: Buffer) => void, events: { synced?: () => void; lost?: () => void } = {}): () => void {
    const subscriber = this.#client.duplicate();
    let subscribed = false;
    subscriber.on('error', () => events.lost?.());
    subscriber.on('reconnecting', () => events.lost?.());
    subscriber.on('ready', () => {
      if (subscribed) events.synced?.(); // a reconnection: resubscribed already
    });
    subscriber
      .connect()
      .then(() => subscriber.subscribe(channel, listener, true))
      .then(() => {
        subscribed = true;
        events.synced?.();
      })
      .catch(() => {});
    return () => {
      try {
        subscriber.destroy();
      } catch {
        // never connected: nothing to close
      }
    };
  }

  /** Closes the connection; calls made afterwards throw IllegalStateError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  #setState(state: Availability, cause: unknown): void {
    if (this.#state === state || this.#closed) return;
    this.#state = state;
    this.#onState(state, cause);
  }
}

/** Whether an error is a reply from the server (not a transport failure). */
export function isErrorReply(error: unknown): error is Error {
  return error instanceof redis.ErrorReply;
}

/**
 * Error replies of a server that is up but cannot serve yet: still loading its dataset after a
 * restart, busy with a long script, or a replica cut off from its master. Unavailable, as a
 * refused connection is (found by `sabre stress H --store redis`: after a restart, LOADING).
 */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN) /;

class CallTimeout extends Error {
  constructor(ms: number) {
    super(`no reply within commandTimeoutMs (${ms} ms)`);
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}
