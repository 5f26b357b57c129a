/**
 * The Redis server a process run (`sabre stress --store …`) works against: a URL the user gives
 * (`redis://host:port`), or `redis`, a throwaway redis-server that sabre starts from PATH on a
 * free loopback port and stops at the end. Only a server sabre owns can be killed and restarted
 * mid-run (scenario H); it persists every acknowledged write (`--appendonly yes --appendfsync
 * always`, in a temp dir), so that what a client was told is stored survives the restart. The
 * server itself (its bounded start and stop) is redis-server.ts's.
 */
import { InvalidArgumentError } from '../../errors.js';
import { RedisCache } from '../../redis/index.js';
import { RedisServer, RedisServerNotFoundError } from './redis-server.js';

export { RedisServerNotFoundError } from './redis-server.js';

/** Where a process run's Redis is: its URL, and the server itself when sabre owns it. */
export interface RedisTarget {
  readonly url: string;
  /** The server sabre started (`--store redis`): the only one a scenario may kill and restart. */
  readonly owned: RedisServer | undefined;
  /** Stops an owned server (nothing for an external one). */
  close(): Promise<void>;
}

/**
 * Opens what `--store` names: `redis` (start one), or a `redis://` / `rediss://` URL (used as it
 * is). Anything else is an InvalidArgumentError; no redis-server on PATH is a
 * RedisServerNotFoundError; a URL that cannot be reached is a StoreUnavailableError.
 */
export async function openRedisTarget(store: string): Promise<RedisTarget> {
  if (store === 'redis') {
    // Its own process group: a Ctrl-C in the terminal is for sabre (which stops at the next trial),
    // not for the server under a trial; sabre kills it itself (and at exit).
    const server = await RedisServer.start({ persist: true, ownProcessGroup: true }).catch((error: unknown) => {
      if (!(error instanceof RedisServerNotFoundError)) throw error;
      throw new RedisServerNotFoundError(`--store redis needs a redis-server to start, and ${error.message}; or give --store redis://host:port`, {
        cause: error,
      });
    });
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
