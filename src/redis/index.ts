/**
 * sabre/redis: the cache API over Redis, for caches shared by many processes.
 *
 * Needs the optional peer dependency @redis/client (`npm install @redis/client`); importing this
 * entry point without it fails with a MissingPeerError (code ERR_SABRE_MISSING_PEER) saying so.
 */
export { RedisCache, type RedisCacheStats } from './redis-cache.js';
export type { AvailabilityEvent, AvailabilityListener } from './fail-safe.js';
export type { RedisCacheOptions, RedisCacheSettings, RedisClusterOptions, RedisTarget } from './options.js';
export type { Availability } from './connection.js';
export { StoreUnavailableError, StoreReplyError, MissingPeerError } from './errors.js';
export { asyncCache, type AsyncCache, type AsyncCacheStats, type AsyncSetOptions, type AsyncComputeOptions } from '../async-cache.js';
export { TieredCache, type TieredCacheHandle, type TieredCacheOptions, type TieredCacheStats } from './tiered-cache.js';
