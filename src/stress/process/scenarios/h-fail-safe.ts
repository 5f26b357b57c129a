/**
 * Audit H across processes: fail-safe while the Redis server dies and comes back. Actor processes
 * write keys and read them back in a loop; mid-trial the harness kills the server (SIGKILL, as a
 * crash would), waits until every actor has made calls into the outage, restarts it (from its
 * append-only file, fsynced at every write) and waits until every actor has had calls answered
 * again. Every call must end as an acknowledged write, a read of the value (from Redis or the
 * fail-safe's last-known value), or a StoreUnavailableError: never a silent success. Once Redis is
 * back, every acknowledged write must be there. Needs `--store redis` (a server sabre owns).
 * Unsafe: a wrapper that swallows the store's errors ("best effort") and reports success. Safe:
 * RedisCache with graceMs: the error surfaces, typed, and is counted.
 */
import { StoreUnavailableError } from '../../../redis/index.js';
import { thrownOutcome } from '../../thrown.js';
import { HarnessOutcome } from '../actors.js';
import type { ProcessScenario } from '../process-scenario.js';
import { connectRedis, untilAvailable } from './support.js';

const params = { workers: 3, outageCalls: 5 };

/** What an actor reports while it runs (ChildContext.emit). */
interface Progress {
  /** The trial these counts are of (an actor's counts start afresh each trial). */
  readonly trial: number;
  readonly calls: number;
  /** Calls made since this actor saw Redis unavailable, and of those, answered by Redis. */
  readonly duringOutage: number;
  readonly answeredAfter: number;
  /** What ended the actor's loop, if something it did not expect did (a `threw …` outcome). */
  readonly failed?: string;
}

/** What an actor reports at the end of a trial. */
interface Report {
  readonly acknowledged: Array<[string, number]>;
  readonly unavailable: number;
  readonly silentReads: number;
}

/** Pause between two calls of an actor: the loop must leave the other processes (and the harness) some CPU. */
const PACE_MS = 2;

export const processFailSafe: ProcessScenario<typeof params> = {
  id: 'H',
  name: 'fail-safe',
  title: 'Fail-safe while the Redis server is killed and restarted (processes)',
  audit: 'H',
  variants: { unsafe: 'a wrapper that swallows the store errors and reports success', safe: 'RedisCache with graceMs: a typed StoreUnavailableError, counted' },
  params,
  actors: (p) => p.workers,
  trials: { full: 100, quick: 3 },
  trialTimeoutMs: 20_000,
  needsOwnedServer: 'it kills and restarts the Redis server mid-run, so it needs a server sabre owns: --store redis',
  outcomes: [
    {
      id: 'every call acknowledged, served or failed typed',
      grade: 'ACCEPTABLE',
      description: 'no silent success; every acknowledged write survived the restart',
    },
    { id: /^silent success/, grade: 'FORBIDDEN', description: 'a call reported success (a write, or a read of nothing) while Redis had not done it' },
  ],

  async child(ctx) {
    const cache = await connectRedis(ctx, { graceMs: 60_000, commandTimeoutMs: 1_000 });
    let running: Promise<Report> | undefined;
    let stop = false;
    /** One write: 'stored', or 'unavailable' (the safe variant's typed error; the unsafe wrapper swallows it). */
    const write = async (key: string, value: number): Promise<'stored' | 'unavailable'> => {
      try {
        await cache.set(key, value);
      } catch (error) {
        if (ctx.variant === 'unsafe') return 'stored'; // "best effort": the audited wrapper
        if (error instanceof StoreUnavailableError) return 'unavailable';
        throw error;
      }
      return 'stored';
    };
    const read = async (key: string): Promise<number | undefined | 'unavailable'> => {
      try {
        return (await cache.get(key)) as number | undefined;
      } catch (error) {
        if (ctx.variant === 'unsafe') return undefined;
        if (error instanceof StoreUnavailableError) return 'unavailable';
        throw error;
      }
    };
    const loop = async (trial: number): Promise<Report> => {
      const acknowledged: Array<[string, number]> = [];
      let unavailable = 0;
      let silentReads = 0;
      const progress = { calls: 0, duringOutage: 0, answeredAfter: 0 };
      let outage = false;
      for (let i = 0; !stop; i++) {
        const key = `H:${trial}:${ctx.actor}:${i}`;
        if ((await write(key, i)) === 'stored') acknowledged.push([key, i]);
        else unavailable++;
        if (acknowledged.length > 0) {
          const [known, value] = acknowledged[Math.floor(ctx.random() * acknowledged.length)]!;
          const got = await read(known);
          if (got === 'unavailable') unavailable++;
          else if (got !== value) silentReads++;
        }
        // The harness's own view (not the wrapper's): whether the connection saw the outage.
        progress.calls++;
        if (cache.state === 'unavailable') outage = true;
        if (outage) progress.duringOutage++;
        if (outage && cache.state === 'available') progress.answeredAfter++;
        ctx.emit({ trial, ...progress } satisfies Progress);
        await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      }
      return { acknowledged, unavailable, silentReads };
    };
    return {
      handlers: {
        go: (payload: { trial: number }) => {
          stop = false;
          running = loop(payload.trial).catch((error: unknown) => {
            // Told to the parent at once (its waits end), and again by 'stop'.
            ctx.emit({ trial: payload.trial, calls: 0, duringOutage: 0, answeredAfter: 0, failed: thrownOutcome(error) } satisfies Progress);
            throw error;
          });
          running.catch(() => {}); // not unhandled meanwhile: 'stop' returns it
          return true;
        },
        stop: async (): Promise<Report> => {
          stop = true;
          return (await running) ?? { acknowledged: [], unavailable: 0, silentReads: 0 };
        },
      },
      close: () => cache.close(),
    };
  },

  async trial(ctx) {
    const server = ctx.server!;
    const actors = Array.from({ length: ctx.actors.count }, (_, a) => a);
    const progress = (a: number): Progress => {
      const latest = ctx.actors.latest(a) as Progress | undefined;
      if (latest?.failed !== undefined) throw new HarnessOutcome(latest.failed, `actor ${a}, in the trial's loop of calls`);
      return latest?.trial === ctx.trial ? latest : { trial: ctx.trial, calls: 0, duringOutage: 0, answeredAfter: 0 };
    };
    const everyActor = (test: (p: Progress) => boolean) => () => actors.every((a) => test(progress(a)));
    await ctx.actors.all('go', { trial: ctx.trial }, ctx.deadlineMs);
    try {
      await ctx.actors.waitUntil(
        everyActor((p) => p.calls >= 5),
        ctx.deadlineMs,
        'every actor made calls before the outage',
      );
      await server.kill();
      await ctx.actors.waitUntil(
        everyActor((p) => p.duringOutage >= ctx.params.outageCalls),
        ctx.deadlineMs,
        `every actor made ${ctx.params.outageCalls} calls into the outage`,
      );
    } finally {
      if (!server.running) await server.restart();
    }
    await ctx.actors.waitUntil(
      everyActor((p) => p.answeredAfter >= 5),
      ctx.deadlineMs,
      'every actor was answered again after the restart',
    );
    await untilAvailable(ctx.cache, ctx.deadlineMs);
    const reports = (await ctx.actors.all('stop', undefined, ctx.deadlineMs)) as Report[];
    let missing = 0;
    let acknowledged = 0;
    for (const report of reports) {
      ctx.sample('unavailable errors per actor', report.unavailable);
      for (const [key, value] of report.acknowledged) {
        acknowledged++;
        if ((await ctx.cache.get(key)) !== value) missing++;
      }
    }
    const silentReads = reports.reduce((sum, r) => sum + r.silentReads, 0);
    if (missing > 0) return `silent success: ${missing} of ${acknowledged} acknowledged writes are not in Redis`;
    if (silentReads > 0) return `silent success: ${silentReads} reads answered without the acknowledged value`;
    return 'every call acknowledged, served or failed typed';
  },
};
