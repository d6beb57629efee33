/**
 * The Temporal Web UI shows a finished lab build the way a vendor needs it: the build's one-line
 * summary, its details, and each step's own summary. Debian's chromium, driven by
 * playwright-core, headless; the screenshot is kept in test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let stack: Stack;
let browser: Browser;
const uiPort = 18233 + Math.floor(Math.random() * 500);

before(async () => {
  stack = await startStack({ temporal: { uiPort }, lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the Web UI shows the build summary, details and step summaries', async () => {
  await stack.stopWorker();
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'ui-test-secret' } });
  const run = await stack.client([
    'start-build',
    path.join(REPO, 'tests/build/fixtures/tiny/build.yaml'),
    '--wait',
    '--json',
    '--id',
    'ui-build',
  ]);
  assert.equal(run.code, 0, run.stderr);

  const page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
  await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/ui-build`, { waitUntil: 'networkidle' });
  // Each step's activity is labelled with its summary on the timeline.
  for (const text of [
    'provision • create a s-1vcpu-1gb droplet from debian-12-x64 in nyc3',
    'runScript • run scripts/01-hello.sh',
    'validate • check the image against the Marketplace rules',
  ]) {
    await page.getByText(text).first().waitFor({ timeout: 30_000 });
  }
  await fs.mkdir(path.join(REPO, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: path.join(REPO, 'test-artifacts/web-ui-build.png'), fullPage: true });
  // The build's one-line summary and its details (markdown of the spec's main points).
  await page.getByText('User Metadata').first().click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(REPO, 'test-artifacts/web-ui-build-metadata.png'), fullPage: true });
  await page.getByText('Events with Metadata').first().waitFor({ timeout: 15_000 });
  // Summaries and details are markdown, which the UI renders in sandboxed iframes: read them all.
  const texts = await Promise.all(
    page.frames().map((f) =>
      f
        .locator('body')
        .textContent()
        .catch(() => ''),
    ),
  );
  const meta = texts.join('\n');
  for (const text of [
    'tiny: debian-12-x64 in nyc3, image build',
    'base image:',
    'run scripts/01-hello.sh',
    'remove login keys and power off',
    'snapshot as tiny-',
  ]) {
    assert.ok(meta.includes(text), `the User Metadata tab shows "${text}"`);
  }
  // Current details: the table of steps, kept up to date by the workflow.
  assert.match(meta, /cleanup\s*succeeded\s*[\d.]+ s/);

  // The list filtered by the build's status search attribute.
  const query = encodeURIComponent(`BuildStatus="succeeded"`);
  await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=${query}`, {
    waitUntil: 'networkidle',
  });
  await page.getByText('ui-build').first().waitFor({ timeout: 30_000 });
});
