/**
 * Where a test child process connects, as one argv string: a server's URL, or a cluster's root
 * nodes joined by commas (test/support/redis-cluster.ts).
 */
import type { RedisTarget } from '../../src/redis/index.js';

/** The argv form of a target. */
export function targetArg(target: RedisTarget): string {
  return target.url ?? target.cluster.rootNodes.join(',');
}

/** The target an argv string names. */
export function targetOf(arg: string): RedisTarget {
  return arg.includes(',') ? { cluster: { rootNodes: arg.split(',') } } : { url: arg };
}
