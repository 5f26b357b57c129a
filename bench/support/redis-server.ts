/**
 * The throwaway redis-server of `sabre bench tiered` (which starts one when no --redis is given)
 * and of the tests (test/support/redis-server.ts adds their skip-or-require policy): sabre's own
 * (src/stress/process/redis-server.ts), with no persistence unless asked, every wait bounded.
 */
import { redisServerBinary, redisServerVersion } from '../../src/stress/process/redis-server.js';

export { RedisServer, type RedisServerOptions, freePort } from '../../src/stress/process/redis-server.js';

/** The server binary: `SABRE_REDIS_SERVER`, else `redis-server` on the PATH. */
export const REDIS_SERVER = redisServerBinary();

/** `redis-server --version`'s line, or undefined when there is no server to run here. */
export const findRedisServer = (): string | undefined => redisServerVersion(REDIS_SERVER);
