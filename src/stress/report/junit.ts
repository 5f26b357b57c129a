/** JUnit XML for CI systems: a test suite per scenario, a test case per variant. */
import junitReportBuilder, { type Builder } from 'junit-report-builder';
import type { RunReport } from './run-report.js';
import { replayCommand } from '../token.js';

// The package's typings describe its default export as the module, while at run time (CommonJS)
// it is the builder itself.
const builder = junitReportBuilder as unknown as Builder;

export function toJunit(report: RunReport): string {
  const xml = builder.newBuilder();
  const suites = new Map<string, ReturnType<typeof xml.testSuite>>();
  for (const v of report.verdicts) {
    let suite = suites.get(v.scenario);
    if (!suite) suites.set(v.scenario, (suite = xml.testSuite().name(`sabre stress ${v.scenario} ${v.name}`)));
    const test = suite
      .testCase()
      .className(`sabre.stress.${v.scenario}`)
      .name(`${v.variant}: ${v.description}`)
      .time(v.elapsedMs / 1_000);
    const histogram = v.histogram.map((o) => `${o.count} x ${o.outcome} [${o.grade}]`).join('\n');
    test.standardOutput(`${v.summary}\ntrials: ${v.trials}\n${histogram}\nreplay: ${replayCommand(v.replay)}`);
    if (v.error) test.error(v.error);
    else if (!v.passed) test.failure(`${v.summary} (replay: ${replayCommand(v.replay)})`);
  }
  return xml.build();
}
