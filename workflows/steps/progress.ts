/**
 * What a build shows the world while it runs: its step records, its status, what it waits for.
 * Kept in step with the Web UI's current details and the search attributes, which are only
 * upserted when they change (each upsert is a command in the history).
 */
import * as wf from '@temporalio/workflow';
import type { StepRecord } from '../../contract/build';
import type { BuildState } from '../../contract/operator';
import { BuildName, BuildStatus, DropletId, FailedStep, SnapshotId } from '../../contract/search-attributes';
import type { BuildStatusValue } from '../../contract/search-attributes';
import type { SbomSummary } from '../../contract/bill-of-materials';

export type Waiting = NonNullable<BuildState['waiting']>;
export type ApprovalWait = NonNullable<BuildState['approval']>;

export class BuildProgress {
  readonly records: StepRecord[] = [];
  status: BuildStatusValue = 'running';
  dropletId?: number;
  snapshotId?: number;
  /** A failed step waiting for an operator. */
  waiting?: Waiting;
  /** Publishing waiting for a person's approval. */
  approval?: ApprovalWait;
  /** The bill of materials once the sbom step recorded it. */
  sbom?: SbomSummary;
  contextDigest: string;
  private published = '';

  constructor(
    private readonly buildId: string,
    private readonly name: string,
    contextDigest: string,
  ) {
    this.contextDigest = contextDigest;
  }

  state(): BuildState {
    return {
      buildId: this.buildId,
      status: this.status,
      steps: this.records,
      ...(this.waiting ? { waiting: this.waiting } : {}),
      ...(this.approval ? { approval: this.approval } : {}),
      ...(this.dropletId !== undefined ? { dropletId: this.dropletId } : {}),
      ...(this.snapshotId !== undefined ? { snapshotId: this.snapshotId } : {}),
      contextDigest: this.contextDigest,
    };
  }

  /** Keeps the Web UI's current details and the search attributes in step with the records. */
  publish(): void {
    wf.setCurrentDetails(detailsMarkdown(this.records, this.waiting, this.approval, this.sbom));
    const failed = this.waiting?.step ?? this.records.find((r) => r.state === 'failed')?.name ?? '';
    const sa = JSON.stringify([this.status, failed, this.dropletId, this.snapshotId]);
    if (sa === this.published) return;
    this.published = sa;
    wf.upsertSearchAttributes([
      { key: BuildName, value: this.name },
      { key: BuildStatus, value: this.status },
      { key: FailedStep, value: failed || null },
      { key: DropletId, value: this.dropletId ?? null },
      { key: SnapshotId, value: this.snapshotId ?? null },
    ]);
  }
}

function detailsMarkdown(
  records: StepRecord[],
  waiting?: Waiting,
  approval?: ApprovalWait,
  sbom?: SbomSummary,
): string {
  const rows = records.map((r) => {
    const time = r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : '';
    return `| ${r.name} | ${r.state} | ${time} | ${r.attempts} |`;
  });
  let md = ['| step | state | time | attempts |', '|---|---|---|---|', ...rows].join('\n');
  if (sbom) {
    md +=
      `\n\n**Bill of materials**: ${sbom.packages} packages (${sbom.licensed} with a machine-readable licence), ` +
      `${sbom.files} placed files — \`${sbom.keys.cyclonedx}\` in the build store; ` +
      "run `client sbom` (or `--format spdx`) with this build's id.";
  }
  if (waiting) {
    md += `\n\n**Waiting for an operator**: step \`${waiting.step}\` failed: ${waiting.error.replace(/\n/g, ' ')}\n\n`;
    const verbs = `${waiting.skippable ? ', `client skip`' : ''}${waiting.acceptable ? ', `client accept`' : ''}`;
    md += `Run \`client retry\`${verbs} or \`client abort\` with this build's id.`;
  }
  if (approval) {
    md +=
      `\n\n**Waiting for approval**: publish image ${approval.imageId} to Marketplace app \`${approval.appId}\`? ` +
      "Run `client approve` or `client reject --reason …` with this build's id.";
  }
  return md;
}
