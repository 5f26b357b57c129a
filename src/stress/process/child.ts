/**
 * An actor process of a process run (forked by actors.ts; run from dist/). It waits for its
 * `init`, runs the scenario's child side (which connects to Redis), says `ready`, then answers the
 * parent's calls by name; a handler's exception is the trial's `threw …` outcome, not a crash.
 *
 * It never outlives the parent: when the IPC channel closes (the parent exited, or was killed),
 * it closes its connections (bounded) and exits. It ignores SIGINT: a Ctrl-C in a terminal is for
 * the parent, which stops at the next trial and then closes its actors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mixSeed, seededRandom } from '../random.js';
import { thrownOutcome } from '../thrown.js';
import type { ChildInit, ChildMessage, ParentMessage } from './actors.js';
import type { ChildSide } from './process-scenario.js';
import { processScenario } from './scenarios/index.js';

/** How long closing the connections may take before the process leaves anyway. */
const CLOSE_MS = 2_000;

process.on('SIGINT', () => {});

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

let side: ChildSide | undefined;
let leaving = false;

async function leave(code: number): Promise<never> {
  if (!leaving) {
    leaving = true;
    if (side !== undefined) await Promise.race([side.close().catch(() => undefined), sleep(CLOSE_MS)]);
  }
  process.exit(code);
}

async function start(init: ChildInit): Promise<void> {
  const scenario = processScenario(init.scenario);
  const random = seededRandom(mixSeed(init.seed, init.actor, 'process'));
  side = await scenario.child({
    actor: init.actor,
    actors: init.actors,
    variant: init.variant,
    params: init.params,
    url: init.url,
    prefix: init.prefix,
    random,
    emit: (value) => send({ kind: 'event', value }),
  });
  send({ kind: 'ready' });
}

async function answer(id: number, op: string, payload: unknown): Promise<void> {
  const handler = side?.handlers[op] as ((payload: unknown) => unknown) | undefined;
  try {
    if (handler === undefined) throw new Error(`the scenario's actors have no handler '${op}'`);
    send({ kind: 'reply', id, value: await handler(payload) });
  } catch (error) {
    send({ kind: 'error', id, outcome: thrownOutcome(error) });
  }
}

process.on('message', (message: ParentMessage) => {
  if (message.kind === 'init') {
    start(message.init).catch((error: unknown) => {
      process.stderr.write(`${thrownOutcome(error)}\n`);
      void leave(1);
    });
  } else if (message.kind === 'call') void answer(message.id, message.op, message.payload);
  else if (message.kind === 'close') void leave(0);
});
process.on('disconnect', () => void leave(0));
