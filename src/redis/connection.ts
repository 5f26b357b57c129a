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
 *   flip once (never each call). On a cluster the failures are tracked per master: the state is
 *   'unavailable' while any master that failed a call has not answered one since (or is no longer
 *   a master), so that the calls of a partial outage, some failing and some not, do not flip it
 *   back and forth;
 * - scripts by EVALSHA, sent again with EVAL when the server does not know them (after a restart).
 *
 * The target is one server (createClient) or a Redis Cluster (createCluster): there each call
 * goes to the master that serves the slot of its first key (a script's keys all share one slot,
 * by the hash tags of wire.ts), following MOVED and ASK redirections. Pub/sub uses plain
 * PUBLISH and SUBSCRIBE on a cluster too: Redis Cluster forwards every PUBLISH to every node, so
 * one subscriber connection to any node hears every announcement, and a script may PUBLISH
 * whatever slot its keys are in. (Sharded SPUBLISH would keep messages on one shard, but then a
 * subscriber would need a connection per shard and must follow resharding, for announcements that
 * are small and rare next to the cache's reads.)
 *
 * @redis/client is an optional peer dependency: it is loaded here, at module load, and its
 * absence makes importing sabre/redis fail with a MissingPeerError saying what to install.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as RedisModule from '@redis/client';
import { IllegalStateError } from '../errors.js';
import { MissingPeerError, StoreReplyError, StoreUnavailableError } from './errors.js';
import { type RedisCacheConfig, type TargetConfig, describeTarget } from './options.js';
import { keySlot } from './wire.js';

/**
 * Loaded with require (it is a CommonJS package), not a top-level `await import()`: a module graph
 * with top-level await cannot be `require`d, and `require('sabre/redis')` must work as
 * `require('sabre')` does.
 */
const redis: typeof RedisModule = loadClient();

function loadClient(): typeof RedisModule {
  try {
    return createRequire(import.meta.url)('@redis/client') as typeof RedisModule;
  } catch (error) {
    throw new MissingPeerError('@redis/client', 'sabre/redis', { cause: error });
  }
}

type Client = RedisModule.RedisClientType<RedisModule.RedisModules, RedisModule.RedisFunctions, RedisModule.RedisScripts, 3>;
type Arg = string | Buffer;

/** What the connection needs of a client, a single server's or a cluster's. */
interface Transport {
  /** Sends one command; on a cluster to the master of `key`'s slot (any node when there is no key). */
  send<T>(key: Arg | undefined, args: readonly Arg[]): Promise<T>;
  connect(): Promise<unknown>;
  destroy(): void;
  /** A new client for pub/sub: a single-node connection (on a cluster, to a root node: see above). */
  subscriber(): Client;
  /** Which node a call on `key` goes to, as far as availability is concerned (one server: always the same). */
  routeOf(key: Arg | undefined): string;
  /** Whether `route` still names a node calls can go to (a cluster's failed-over master no longer does). */
  routes(route: string): boolean;
}

/** Whether Redis answered the last calls ('available') or could not be reached ('unavailable'). */
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

/** The socket options of every connection: the connect deadline and the reconnection backoff. */
function socketOptions(config: RedisCacheConfig) {
  return { connectTimeout: config.connectTimeoutMs, reconnectStrategy: reconnectDelay };
}

function serverTransport(url: string, config: RedisCacheConfig): Transport & { client: Client } {
  const client = redis.createClient({
    url,
    RESP: 3,
    // Fail at once while reconnecting instead of queueing calls that the fail-safe should answer.
    disableOfflineQueue: true,
    socket: socketOptions(config),
  }) as Client;
  return {
    client,
    send: (_key, args) => client.sendCommand(args, BUFFERS),
    connect: () => client.connect(),
    destroy: () => client.destroy(),
    subscriber: () => client.duplicate(),
    routeOf: () => 'server',
    routes: () => true,
  };
}

function clusterTransport(rootNodes: readonly string[], config: RedisCacheConfig): Transport {
  const cluster = redis.createCluster({
    rootNodes: rootNodes.map((url) => ({ url })),
    RESP: 3,
    defaults: { disableOfflineQueue: true, socket: socketOptions(config) },
  });
  // As for a single client: failures are reported by the calls, never by a crashing 'error' event.
  cluster.on('error', () => {});
  return {
    // Masters only (isReadonly false): a replica may lag behind a write this process just made.
    send: (key, args) => cluster.sendCommand(key, false, args as Arg[], BUFFERS),
    connect: () => cluster.connect(),
    destroy: () => cluster.destroy(),
    subscriber: () => serverTransport(rootNodes[0]!, config).client,
    routeOf: (key) => {
      // A call with no key goes to any node: its failure or success says nothing about one master.
      if (key === undefined) return 'any node';
      const slot = keySlot(typeof key === 'string' ? Buffer.from(key) : key);
      try {
        return cluster.getSlotMaster(slot)?.address ?? `slot ${slot}`;
      } catch {
        return `slot ${slot}`; // the slot map is not known yet (or is being rediscovered)
      }
    },
    routes: (route) => route === 'any node' || route.startsWith('slot ') || cluster.masters.some((master) => master.address === route),
  };
}

function transportOf(target: TargetConfig, config: RedisCacheConfig): Transport {
  return target.kind === 'cluster' ? clusterTransport(target.rootNodes, config) : serverTransport(target.url, config);
}

export class Connection {
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  readonly #onState: (state: Availability, cause: unknown) => void;
  #state: Availability = 'available';
  /** The routes (transportOf's routeOf) whose last call failed for want of Redis: 'unavailable' while there is one. */
  readonly #down = new Set<string>();
  #closed = false;
  /** Calls that failed for want of Redis (timeouts included), and timeouts alone. */
  unavailableCalls = 0;
  timeouts = 0;

  private constructor(transport: Transport, config: RedisCacheConfig, onState: (state: Availability, cause: unknown) => void) {
    this.#transport = transport;
    this.#timeoutMs = config.commandTimeoutMs;
    this.#onState = onState;
    if ('client' in transport) {
      const { client } = transport as { client: Client };
      // node-redis reports every failed (re)connection as an 'error' event, and an EventEmitter with
      // no 'error' listener would crash the process: the calls report failures instead.
      client.on('error', () => {});
      // (A cluster has no such event: its first successful call after an outage marks it available.)
      client.on('ready', () => {
        this.#down.clear();
        this.#setState('available', undefined);
      });
    }
  }

  /** Connects; a target that cannot be reached within `connectTimeoutMs` is a StoreUnavailableError (and nothing is left open). */
  static async open(config: RedisCacheConfig, onState: (state: Availability, cause: unknown) => void): Promise<Connection> {
    const transport = transportOf(config.target, config);
    const connection = new Connection(transport, config, onState);
    let timer: NodeJS.Timeout | undefined;
    try {
      // node-redis retries a first connection forever: the deadline is ours.
      await Promise.race([
        transport.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${config.connectTimeoutMs} ms`)), config.connectTimeoutMs);
        }),
      ]);
    } catch (error) {
      transport.destroy();
      throw new StoreUnavailableError(`cannot connect to Redis at ${describeTarget(config.target)}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    return connection;
  }

  get state(): Availability {
    return this.#state;
  }

  /**
   * Runs one command; bulk strings come back as Buffers. `key` routes it on a cluster (the
   * command's first key; none: any node); a single server ignores it.
   */
  async call<T>(args: readonly Arg[], key?: Arg): Promise<T> {
    if (this.#closed) throw new IllegalStateError('the RedisCache is closed');
    const route = this.#transport.routeOf(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.#transport.send<T>(key, args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CallTimeout(this.#timeoutMs)), this.#timeoutMs);
        }),
      ]);
      this.#answered(route);
      return reply;
    } catch (error) {
      if (error instanceof redis.ErrorReply && !UNAVAILABLE_REPLY.test(error.message)) {
        this.#answered(route); // the server answered
        throw new StoreReplyError(`Redis refused ${String(args[0])}: ${error.message}`, { cause: error });
      }
      if (this.#closed) throw new IllegalStateError('the RedisCache is closed');
      this.unavailableCalls++;
      if (error instanceof CallTimeout) this.timeouts++;
      this.#down.add(route);
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
      return await this.call<T>(['EVALSHA', script.sha, ...tail], keys[0]);
    } catch (error) {
      if (!(error instanceof StoreReplyError) || !replyOf(error).startsWith('NOSCRIPT')) throw error;
      return this.call<T>(['EVAL', script.source, ...tail], keys[0]);
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
    const subscriber = this.#transport.subscriber();
    let subscribed = false;
    const subscribe = (): void => {
      subscriber.subscribe(channel, listener, true).then(
        () => {
          subscribed = true;
          events.synced?.();
        },
        // The connection dropped before the reply: node-redis then forgets the channel (it
        // resubscribes only to what was confirmed), so the next 'ready' sends SUBSCRIBE again.
        () => {},
      );
    };
    subscriber.on('error', () => events.lost?.());
    subscriber.on('reconnecting', () => events.lost?.());
    subscriber.on('ready', () => {
      if (subscribed)
        events.synced?.(); // a reconnection: resubscribed already
      else subscribe(); // the first connection, or one whose SUBSCRIBE was cut off
    });
    subscriber.connect().catch(() => {});
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
    this.#transport.destroy();
  }

  /** A call on `route` got an answer: that route is up; the state is 'available' once no route is down. */
  #answered(route: string): void {
    this.#down.delete(route);
    for (const down of this.#down) if (!this.#transport.routes(down)) this.#down.delete(down);
    if (this.#down.size === 0) this.#setState('available', undefined);
  }

  #setState(state: Availability, cause: unknown): void {
    if (this.#state === state || this.#closed) return;
    this.#state = state;
    this.#onState(state, cause);
  }
}

/** Whether an error is a reply from the server (not a transport failure). */
export function isErrorReply(error: unknown): error is StoreReplyError {
  return error instanceof StoreReplyError;
}

/** The server's own error text of a StoreReplyError (`NOSCRIPT …`, `WRONGTYPE …`). */
export function replyOf(error: StoreReplyError): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
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
