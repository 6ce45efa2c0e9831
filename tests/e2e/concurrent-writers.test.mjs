// The real app and the real CLI on one data directory at once: the app polls every second and
// syncs on request while `burnrate sync` runs again and again. Both must keep working, and the
// ledger must hold each figure once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { By, until } from 'selenium-webdriver';
import { CLI, cli, eventually, launchApp, query, startOpenRouterMock } from './harness.mjs';

const KEY = 'sk-or-v1-FAKE-e2e-concurrent-key-00004321';
const run = promisify(execFile);

test('the app and burnrate sync write to one ledger together; each figure is kept once', async (t) => {
  const mock = await startOpenRouterMock(KEY);
  t.after(() => mock.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'burnrate-e2e-'));
  const env = { BURNRATE_E2E_OPENROUTER_KEY: KEY };
  cli(dataDir, ['source', 'add', 'openrouter', '--name', 'shared', '--base-url', mock.url, '--key-env', 'BURNRATE_E2E_OPENROUTER_KEY'], env);

  const { driver, stop } = await launchApp({ ...env, BURNRATE_POLL_SECONDS: '1' }, dataDir);
  t.after(stop);
  await driver.wait(until.elementLocated(By.css('[data-source-name="shared"]')), 20000);

  // Eight CLI syncs, two at a time, while the app polls; and "Sync all" pressed in the app meanwhile.
  const syncs = [];
  for (let round = 0; round < 4; round++) {
    const pair = [0, 1].map(() =>
      run(CLI, ['sync'], { env: { ...process.env, BURNRATE_DATA_DIR: dataDir, ...env } }).then(
        (r) => ({ ok: true, out: r.stdout }),
        (e) => ({ ok: false, out: `${e.stdout}\n${e.stderr}` }),
      ),
    );
    await driver.findElement(By.id('sync-all')).click().catch(() => {}); // may be busy: pressing is the point
    syncs.push(...(await Promise.all(pair)));
  }
  for (const s of syncs) assert.ok(s.ok, `a CLI sync failed while the app ran:\n${s.out}`);

  const result = await driver.wait(until.elementLocated(By.css('#sync-results [data-sync-source="shared"]')), 20000);
  await eventually(async () => /ok/.test(await result.getText()), 'the app reported its own sync ok');

  assert.deepEqual(query(dataDir, 'SELECT amount_micros, currency, kind FROM spend'), [[25500000, 'USD', 'billed']],
    'one row of 25.50 USD, however many writers synced it');
  assert.deepEqual(query(dataDir, 'SELECT count(*) FROM sync_runs WHERE ok = 0'), [[0]], 'no sync of either failed');
  assert.ok(query(dataDir, 'SELECT count(*) FROM sync_runs')[0][0] >= 9, 'the CLI and the app both wrote runs');
  assert.deepEqual(query(dataDir, 'PRAGMA integrity_check'), [['ok']]);
});
