/**
 * A throwaway Redis Cluster (the tests', and `sabre bench tiered`'s second target): 3 masters (no replicas), each a throwaway RedisServer
 * (redis-server.ts) started with `cluster-enabled yes` on free loopback ports, its nodes.conf in
 * a temporary directory of its own. The 16,384 slots are split in three with CLUSTER
 * ADDSLOTSRANGE, the nodes meet with CLUSTER MEET, and the cluster is ready once every node
 * reports `cluster_state:ok` and knows all the masters. Every wait is bounded; `stop()` stops
 * every node and removes the directory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { RedisServer, freePort } from './redis-server.js';

const run = promisify(execFile);
export const REDIS_CLI = process.env.SABRE_REDIS_CLI ?? 'redis-cli';
const SLOTS = 16_384;

/** One redis-cli command against 127.0.0.1:`port`, bounded by 10 s; its output, trimmed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

export class RedisCluster {
  readonly nodes: readonly RedisServer[];
  readonly #dir: string;

  private constructor(nodes: readonly RedisServer[], dir: string) {
    this.nodes = nodes;
    this.#dir = dir;
  }

  /** The nodes' URLs: what `{ cluster: { rootNodes } }` takes. */
  get rootNodes(): string[] {
    return this.nodes.map((node) => node.url);
  }

  /** Starts `masters` nodes, assigns the slots, joins them, and waits (at most `readyMs`) for `cluster_state:ok` on each. */
  static async start(masters = 3, readyMs = 30_000): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'sabre-cluster-'));
    const nodes: RedisServer[] = [];
    const busPorts: number[] = [];
    const cluster = new RedisCluster(nodes, dir);
    try {
      for (let i = 0; i < masters; i++) {
        // The bus port is chosen too: the default (port + 10000) may be taken, or beyond 65535.
        busPorts.push(await freePort());
        const extraArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--dir', dir, '--cluster-port', String(busPorts[i])];
        nodes.push(await RedisServer.start({ readyMs, extraArgs }));
      }
      for (const [i, node] of nodes.entries()) {
        const first = Math.floor((SLOTS * i) / masters);
        const last = Math.floor((SLOTS * (i + 1)) / masters) - 1;
        await redisCli(node.port, 'CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
      }
      // MEET names the bus port too (Redis 7): without it the node would look for port + 10000.
      for (const node of nodes.slice(1)) await redisCli(node.port, 'CLUSTER', 'MEET', '127.0.0.1', String(nodes[0]!.port), String(busPorts[0]));
      await cluster.#waitUntilOk(readyMs);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async #waitUntilOk(readyMs: number): Promise<void> {
    const deadline = Date.now() + readyMs;
    for (;;) {
      const states = await Promise.all(
        this.nodes.map(async (node) => {
          const info = await redisCli(node.port, 'CLUSTER', 'INFO');
          return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${this.nodes.length}`);
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`the throwaway cluster did not reach cluster_state:ok on every node within ${readyMs} ms`);
      await sleep(50);
    }
  }

  /** The keys matching `pattern` that node `index` holds (KEYS on that node alone: where they really landed). */
  async keysOn(index: number, pattern: string): Promise<string[]> {
    const out = await redisCli(this.nodes[index]!.port, 'KEYS', pattern);
    return out === '' ? [] : out.split('\n');
  }

  /** Stops every node (bounded, see RedisServer.stop) and removes the nodes.conf directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
