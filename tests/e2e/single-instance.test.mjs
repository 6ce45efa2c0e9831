// A launch that meets a Burnrate in the middle of quitting: the single-instance name is still
// owned, but its owner leaves the bus without taking the new launch's arguments. The new launch
// must start on its own a moment later instead of failing (it used to exit with "failed to
// forward arguments to the running instance").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PY, eventually, startApp } from './harness.mjs';

const QUITTING = fileURLToPath(new URL('../ci/quitting-instance.py', import.meta.url));

test('a launch while another Burnrate is quitting starts once the name is free', async (t) => {
  const quitting = spawn(PY, [QUITTING, 'dev.burnrate.app.SingleInstance'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  quitting.stdout.on('data', (chunk) => (said += chunk));
  t.after(() => quitting.kill());
  await eventually(() => said.includes('ready'), 'the quitting instance owns the name');

  const app = startApp({ BURNRATE_POLL_SECONDS: 'off' }, mkdtempSync(join(tmpdir(), 'burnrate-e2e-')));
  t.after(() => app.stop());
  await eventually(() => said.includes('called'), 'the launch forwarded its arguments to the owner');
  await eventually(() => /window opened/.test(app.log()), 'the window, after starting again', 20000);
  assert.match(app.log(), /another Burnrate was quitting as this one started; starting again/);
  assert.doesNotMatch(app.log(), /could not start/);
  assert.equal(app.child.exitCode, null, 'still running');
});
