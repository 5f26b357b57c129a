/** The throwaway 3-master cluster of the tests: bench/support/redis-cluster.ts, shared with `sabre bench tiered`. */
export { REDIS_CLI, RedisCluster, redisCli } from '../../bench/support/redis-cluster.js';
