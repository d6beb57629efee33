/** IMAGE_FORGE_METRICS: off unless set; an address and port, or a port alone (loopback); a bad value is named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerSettingsFrom } from '../../worker/config';

const base = { DIGITALOCEAN_TOKEN: 't', IMAGE_FORGE_SSH_KEY: '/k' };

test('IMAGE_FORGE_METRICS: off by default, host:port or a port alone on loopback', () => {
  assert.equal(workerSettingsFrom(base).metrics, undefined);
  assert.deepEqual(workerSettingsFrom({ ...base, IMAGE_FORGE_METRICS: '0.0.0.0:9464' }).metrics, {
    host: '0.0.0.0',
    port: 9464,
  });
  assert.deepEqual(workerSettingsFrom({ ...base, IMAGE_FORGE_METRICS: '9464' }).metrics, {
    host: '127.0.0.1',
    port: 9464,
  });
  assert.deepEqual(workerSettingsFrom({ ...base, IMAGE_FORGE_METRICS: '[::1]:9464' }).metrics, {
    host: '::1',
    port: 9464,
  });
});

test('IMAGE_FORGE_METRICS: a value that is no address and port is refused, naming the setting', () => {
  for (const bad of ['localhost', 'http://127.0.0.1:9464/metrics', '127.0.0.1:0', '127.0.0.1:70000'])
    assert.throws(
      () => workerSettingsFrom({ ...base, IMAGE_FORGE_METRICS: bad }),
      /IMAGE_FORGE_METRICS must be an address and port to serve metrics on, e\.g\. 127\.0\.0\.1:9464/,
      bad,
    );
});
