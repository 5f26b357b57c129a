/**
 * The throwaway redis-server of the tests (sabre's own, through bench/support/redis-server.ts,
 * shared with `sabre bench tiered`), and when they run: outside CI a machine without `redis-server` skips the
 * Redis tests (install it with `apt-get install redis-server`); with SABRE_REQUIRE_REDIS=1 (set by
 * .ci/run) a missing server fails them instead, so CI can never pass by skipping.
 */
import { REDIS_SERVER, findRedisServer } from '../../bench/support/redis-server.js';

export { REDIS_SERVER, RedisServer, freePort } from '../../bench/support/redis-server.js';

/** `redis-server --version`'s line, or undefined when there is no server to run. */
export const redisServerVersion = findRedisServer();
export const redisAvailable = redisServerVersion !== undefined;
export const SKIP_MESSAGE = `no ${REDIS_SERVER} on this machine: the Redis tests are skipped (install it with \`apt-get install redis-server\`; SABRE_REQUIRE_REDIS=1 makes this an error)`;

if (!redisAvailable) {
  if (process.env.SABRE_REQUIRE_REDIS === '1') {
    throw new Error(`SABRE_REQUIRE_REDIS=1 but there is no ${REDIS_SERVER} on this machine: install it with \`apt-get install redis-server\``);
  }
  console.warn(SKIP_MESSAGE);
}
