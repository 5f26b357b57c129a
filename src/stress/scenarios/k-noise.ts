/**
 * Audit K: noise. Logging every call produced 8.6 M lines a day; logging on change cut it by
 * 99 %. sabre's events follow that rule: transitions are events, steady state is a counter. A
 * seeded random walk of memory readings around the warning and limit thresholds drives a memory
 * guard; the events it emits must be exactly the state transitions of the walk. Unsafe: a
 * monitor that reports every reading. Safe: sabre's MemoryGuard.
 */
import { MemoryGuard, type MemoryEvent } from '../../pool/memory-guard.js';
import { mixSeed, seededRandom } from '../random.js';
import { defineScenario } from '../scenario-spec.js';

const MiB = 2 ** 20;

function walk(trial: number, samples: number): number[] {
  const random = seededRandom(mixSeed('noise', trial));
  const readings: number[] = [];
  let mb = 70;
  for (let i = 0; i < samples; i++) {
    mb = Math.max(40, Math.min(120, mb + (random() - 0.5) * 8));
    readings.push(mb * MiB);
  }
  return readings;
}

function stateOf(bytes: number, limit: number, warn: number): string {
  return bytes >= limit ? 'limit' : bytes >= warn ? 'warning' : 'normal';
}

export const noise = defineScenario({
  id: 'K',
  name: 'noise',
  title: 'Events on transitions only (no log line per call)',
  audit: 'K',
  variants: { unsafe: 'a monitor that reports every reading', safe: "sabre's MemoryGuard: an event per state transition" },
  params: { samples: 1_000, limitMb: 100, warnRatio: 0.8 },
  actors: () => 1,
  trials: { full: 100_000, quick: 500 },
  actor(ctx) {
    const readings = walk(ctx.trial, ctx.params.samples);
    const limit = ctx.params.limitMb * MiB;
    let i = 0;
    let events = 0;
    if (ctx.variant === 'unsafe') {
      for (const reading of readings) if (reading >= 0) events++; // one line per reading
    } else {
      const guard = new MemoryGuard(
        { limitBytes: limit, warnRatio: ctx.params.warnRatio, intervalMs: 2 ** 30 },
        () => ({ rssBytes: readings[i]!, heapUsedBytes: 0, cacheBytes: 0 }),
        (_event: MemoryEvent) => void events++,
        () => {},
      );
      for (; i < readings.length; i++) guard.check();
      guard.stop();
    }
    ctx.local.events = events;
  },
  arbiter(ctx) {
    const readings = walk(ctx.trial, ctx.params.samples);
    const limit = ctx.params.limitMb * MiB;
    let transitions = 0;
    let state = 'normal';
    for (const reading of readings) {
      const next = stateOf(reading, limit, limit * ctx.params.warnRatio);
      if (next !== state) transitions++;
      state = next;
    }
    const events = ctx.local.events as number;
    if (events > transitions) return `noise: ${events} events for ${transitions} transitions`;
    if (events < transitions) return `missed transitions: ${events} events for ${transitions}`;
    return 'one event per transition';
  },
  outcomes: [
    { id: 'one event per transition', grade: 'ACCEPTABLE', description: 'events are exactly the state transitions' },
    { id: /^noise/, grade: 'FORBIDDEN', description: 'events in steady state (a line per reading)' },
    { id: /^missed transitions/, grade: 'FORBIDDEN', description: 'a transition went unreported' },
  ],
});
