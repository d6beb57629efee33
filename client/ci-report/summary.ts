/**
 * A build as Markdown for a CI job summary ($GITHUB_STEP_SUMMARY, a GitLab artifact): its steps
 * with times, the snapshot, droplet-minutes, the bill of materials' counts, the image tests and
 * the package changes since the family's last build.
 */
import { dropletCost } from '../../contract/cost';
import { diffGroups, isEmptyDiff } from '../../contract/bill-of-materials';
import type { BuildOutcome } from './outcome';
import type { PackageChanges } from './package-changes';

export function markdownSummary(o: BuildOutcome, changes: PackageChanges): string {
  const m = o.manifest;
  const out: string[] = [`## Image build \`${o.buildId}\`: ${o.status}`, ''];
  if (o.error) out.push(`**Error:** ${cell(o.error)}`, '');
  out.push(
    m?.snapshot
      ? `**Snapshot:** \`${m.snapshot.name}\` (id ${m.snapshot.id}) in ${m.snapshot.regions.join(', ')}${m.snapshot.transferring?.length ? `, still copying to ${m.snapshot.transferring.join(', ')}` : ''}`
      : o.snapshotId !== undefined
        ? `**Snapshot:** id ${o.snapshotId}`
        : '**Snapshot:** none',
  );
  const cost = m?.cost ?? dropletCost(o.steps, Date.now());
  out.push(
    `**Droplet-minutes:** ${cost.buildDropletMinutes} build droplet, ${cost.testDropletMinutes} test droplet`,
    '',
    '| Step | State | Seconds | What |',
    '| --- | --- | ---: | --- |',
    ...o.steps.map(
      (s) =>
        `| ${cell(s.name)} | ${s.state} | ${s.seconds !== undefined ? s.seconds.toFixed(1) : ''} | ${cell(s.error ? `${s.summary}: ${s.error}` : s.summary)} |`,
    ),
    '',
  );
  const tests = o.verify?.tests ?? [];
  const verifyState = m?.verify?.state ?? (o.verify ? 'verified' : undefined);
  if (verifyState) out.push(`**Image tests:** ${verifyState}${tests.length ? '' : ' (no tests in the spec)'}`);
  if (tests.length > 0)
    out.push(
      '',
      '| Test | Exit code | Seconds |',
      '| --- | ---: | ---: |',
      ...tests.map((t) => `| ${cell(t.label)} | ${t.exitCode} | ${t.seconds.toFixed(1)} |`),
    );
  if (verifyState) out.push('');
  if (o.status === 'waiting-for-approval')
    out.push(
      `**Publishing waits for approval:** \`client approve ${o.buildId}\` or \`client reject ${o.buildId} --reason …\``,
      '',
    );
  if (m?.sbom)
    out.push(
      `**Bill of materials:** ${m.sbom.packages} packages (${m.sbom.licensed} with a machine-readable licence), ${m.sbom.files} placed files`,
      '',
    );
  out.push(...changeLines(changes), '');
  return out.join('\n');
}

function changeLines(c: PackageChanges): string[] {
  if ('none' in c) return [`**Package changes:** ${c.none}`];
  const d = c.diff;
  if (isEmptyDiff(d)) return [`**Package changes since \`${c.from}\`:** none`];
  const lines = [`**Package changes since \`${c.from}\`:**`, ''];
  for (const [title, items] of diffGroups(d))
    if (items.length > 0) lines.push(`- ${title} (${items.length}): ${items.map(cell).join(', ')}`);
  return lines;
}

/** One line, no table breaks: a pipe or newline in a step's text would cut the table. */
function cell(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}
