/**
 * A build as a JUnit XML report, the format CI systems show as tests: one test case per step
 * (its name and summary, its seconds, its failure with the output's last lines) and one per test
 * of the spec that verify ran on a droplet made from the image.
 */
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import type { StepRecord } from '../../contract/build';
import type { BuildOutcome } from './outcome';

interface Case {
  name: string;
  seconds: number;
  failure?: { message: string; text: string };
  skipped?: string;
}

export function junitReport(o: BuildOutcome): string {
  const suites = [
    { name: `${o.name} build steps`, classname: `image-forge.${o.name}.steps`, cases: stepCases(o) },
    { name: `${o.name} image tests`, classname: `image-forge.${o.name}.tests`, cases: verifyCases(o) },
  ];
  const all = suites.flatMap((s) => s.cases);
  // Script output may hold control characters XML cannot carry: they become U+FFFD.
  const doc = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });
  const root = doc.ele('testsuites', {
    name: `image-forge ${o.buildId}`,
    ...counts(all),
  });
  for (const s of suites) {
    const suite = root.ele('testsuite', { name: s.name, ...counts(s.cases) });
    for (const c of s.cases) addCase(suite, s.classname, c);
  }
  return doc.end({ prettyPrint: true });
}

function counts(cases: Case[]): Record<string, string> {
  return {
    tests: String(cases.length),
    failures: String(cases.filter((c) => c.failure).length),
    errors: '0',
    skipped: String(cases.filter((c) => c.skipped !== undefined).length),
    time: seconds(cases.reduce((sum, c) => sum + c.seconds, 0)),
  };
}

function addCase(suite: XMLBuilder, classname: string, c: Case): void {
  const tc = suite.ele('testcase', { name: c.name, classname, time: seconds(c.seconds) });
  if (c.failure) tc.ele('failure', { message: c.failure.message, type: 'failure' }).txt(c.failure.text);
  else if (c.skipped !== undefined) tc.ele('skipped', { message: c.skipped });
}

function seconds(s: number): string {
  return s.toFixed(3);
}

/** Each attempt's record of a step is a case of its own (a retried step shows its failed try too). */
function stepCases(o: BuildOutcome): Case[] {
  const cases: Case[] = o.steps.map((s) => ({
    name: `${s.name}: ${s.summary}`,
    seconds: s.seconds ?? 0,
    ...stepResult(s),
  }));
  // A build can fail with no failed step (aborted, or refused before its first step): say so.
  if (o.status === 'failed' && !cases.some((c) => c.failure)) {
    const error = o.error ?? 'the build failed';
    cases.push({ name: 'build', seconds: 0, failure: { message: firstLine(error), text: error } });
  }
  return cases;
}

function stepResult(s: StepRecord): Pick<Case, 'failure' | 'skipped'> {
  if (s.state === 'failed' || s.state === 'waiting-for-operator') {
    const message = s.error ?? (s.exitCode !== undefined ? `exit code ${s.exitCode}` : 'failed');
    const text = [
      `step ${s.name} failed: ${message}`,
      ...(s.exitCode !== undefined ? [`exit code: ${s.exitCode}`] : []),
      ...(s.tail ?? []),
    ].join('\n');
    return { failure: { message: firstLine(message), text } };
  }
  if (s.state === 'skipped') return { skipped: 'skipped by an operator' };
  if (s.state === 'accepted') return { skipped: `failed, then accepted by an operator: ${s.error ?? ''}`.trim() };
  if (s.state === 'pending' || s.state === 'running' || s.state === 'waiting')
    return { skipped: `not finished (${s.state})` };
  return {};
}

function verifyCases(o: BuildOutcome): Case[] {
  return (o.verify?.tests ?? []).map((t) => ({
    name: t.label,
    seconds: t.seconds,
    ...(t.exitCode === 0
      ? {}
      : { failure: { message: `exit code ${t.exitCode}`, text: `test ${t.label} exited with ${t.exitCode}` } }),
  }));
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
