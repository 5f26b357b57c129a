/**
 * Audit J: memory guard and clean shutdown. A back end with no memory bound was killed by the
 * kernel, and its restart found the port held by zombies. Each trial starts a child process that
 * runs two workers allocating memory; once memory is at the limit the parent sends SIGTERM.
 * Safe (a sabre pool): a 'warning' event then a 'limit' event, each once (transitions only), and
 * on SIGTERM the pool drains, terminates every worker and the process exits 0. Unsafe (plain
 * worker_threads): no memory events, and SIGTERM kills the process mid-work.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineScenario } from '../scenario-spec.js';

const CHILD = fileURLToPath(new URL('./j-child.js', import.meta.url));

interface ChildRun {
  readonly events: string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ready: boolean;
}

function runChild(variant: string, timeoutMs: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, variant], { stdio: ['ignore', 'pipe', 'inherit'] });
    const events: string[] = [];
    let ready = false;
    let buffered = '';
    const giveUp = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as { memory?: string; ready?: boolean };
        buffered = buffered.slice(nl + 1);
        if (line.memory) events.push(line.memory);
        if (line.ready && !ready) {
          ready = true;
          events.push('|'); // what follows happened while shutting down (memory falls: 'normal')
          child.kill('SIGTERM');
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(giveUp);
      resolve({ events, code, signal, ready });
    });
  });
}

export const memoryShutdown = defineScenario({
  id: 'J',
  name: 'memory-shutdown',
  title: 'Memory guard and clean shutdown on SIGTERM',
  audit: 'J',
  variants: {
    unsafe: 'plain worker_threads: no memory bound, no signal handling',
    safe: 'a sabre pool: memory guard (warning at 80 %, reject at the limit) and SIGTERM drain',
  },
  params: { timeoutSeconds: 20 },
  actors: () => 1,
  trials: { full: 20, quick: 1 },
  trialTimeoutMs: 30000, // a trial starts a child process and waits for its shutdown
  stride: 1,
  async actor(ctx) {
    ctx.local.run = await runChild(ctx.variant, ctx.params.timeoutSeconds * 1000);
  },
  arbiter(ctx) {
    const run = ctx.local.run as ChildRun;
    if (!run.ready) return `never reached the limit (exit ${run.code ?? run.signal})`;
    if (run.signal !== null) return `killed by ${run.signal}: workers never drained`;
    if (run.code !== 0) return `exit code ${run.code}`;
    // Before the signal: exactly the two transitions up. After it, memory falls as workers end.
    const beforeSignal = run.events.slice(0, run.events.indexOf('|')).join(',');
    if (beforeSignal !== 'warning,limit') return `memory events: ${beforeSignal || 'none'}`;
    return 'warned, limited, exited 0';
  },
  outcomes: [
    {
      id: 'warned, limited, exited 0',
      grade: 'ACCEPTABLE',
      description: "one 'warning' then one 'limit' event; SIGTERM drained the workers and the process exited 0",
    },
    { id: /^killed by/, grade: 'FORBIDDEN', description: 'the signal killed the process with its workers running' },
    { id: /^exit code/, grade: 'FORBIDDEN', description: 'the process did not exit cleanly' },
    { id: /^memory events/, grade: 'FORBIDDEN', description: 'the memory guard did not report exactly its two transitions' },
    { id: /^never reached/, grade: 'FORBIDDEN', description: 'the child never got to the limit' },
  ],
});
