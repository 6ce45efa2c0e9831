// The real app on a desktop: a budget is passed, a desktop notification names it (once, though
// the tray's "Sync now" polls again), the tray shows the state and the top key, the alert is in the
// app's history, and "Pause alerts" from the tray is saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { cli, eventually, launchApp, query, startDesktopServices, startOpenRouterMock } from './harness.mjs';

const KEY = 'sk-or-v1-FAKE-e2e-alerts-key-000000009876';

test('a budget passed notifies once, colours the tray and lands in the history', async (t) => {
  const mock = await startOpenRouterMock(KEY);
  const desktop = await startDesktopServices();
  const dataDir = mkdtempSync(join(tmpdir(), 'burnrate-e2e-'));
  // One poll at start-up, then none for a day ('off' would poll nothing at all).
  const env = { BURNRATE_E2E_ALERTS_KEY: KEY, BURNRATE_POLL_SECONDS: '86400' };
  // The user set up a source and a 20 USD daily budget; the mock reports 25.50 USD spent today.
  cli(dataDir, ['source', 'add', 'openrouter', '--name', 'e2e-alerts', '--base-url', mock.url, '--key-env', 'BURNRATE_E2E_ALERTS_KEY'], env);
  cli(dataDir, ['budget', 'add', '--scope', 'total', '--period', 'day', '--amount', '20'], env);

  const started = Date.now();
  const { driver, stop } = await launchApp(env, dataDir);
  t.after(async () => { await stop(); mock.close(); desktop.stop(); });
  await driver.wait(until.elementLocated(By.id('sync-all')), 20000);

  // The app polls once at start; "Sync now" in the tray polls again.
  const menu = (await eventually(() => desktop.trayMenu(), 'tray menu')).map((e) => e.label);
  for (const label of ['Open Burnrate', 'Sync now', 'Pause alerts for 1 hour', 'Quit']) assert.ok(menu.includes(label), label);
  await eventually(() => query(dataDir, 'SELECT count(*) FROM sync_runs')[0][0] >= 1, 'the start-up poll');
  const runs = query(dataDir, 'SELECT count(*) FROM sync_runs')[0][0];
  desktop.trayClick('Sync now');
  await eventually(() => query(dataDir, 'SELECT count(*) FROM sync_runs')[0][0] > runs, 'a sync started from the tray');

  const notes = await eventually(() => desktop.notifications().filter((n) => n.app === 'Burnrate'), 'a desktop notification');
  const budgetNotes = notes.filter((n) => /budget/.test(n.summary));
  assert.equal(budgetNotes.length, 1, `one alert for the highest threshold passed, once over two syncs: ${JSON.stringify(notes)}`);
  assert.match(budgetNotes[0].body, /25\.50 USD/);
  assert.match(budgetNotes[0].body, /20\.00 USD/);
  assert.equal(budgetNotes[0].urgency, 2, 'over budget is critical');
  assert.deepEqual(notes.map((n) => n.actions), notes.map(() => ['open', 'Open']), 'each offers to open the app');
  assert.equal(new Set(notes.map((n) => n.summary)).size, notes.length, 'nothing notified twice');
  assert.ok(!JSON.stringify(notes).includes(KEY), 'the key is not in the notification');

  // The tray redraws: today's spend, why it is red, and the key that spent it.
  const after = await eventually(() => {
    const labels = desktop.trayMenu().map((e) => e.label);
    return labels.includes('Today 25.50 USD · Month 25.50 USD') && labels;
  }, 'the tray summary after the sync');
  assert.ok(after.some((l) => /^Budget total daily: 127 % of 20\.00 USD/.test(l)), after.join(' | '));
  assert.ok(after.some((l) => l.endsWith(': 25.50 USD') && !l.startsWith('Today')), 'the top key is listed');

  // The chart, rendered by the core, shows the key's 25.50 USD (the image really loads under the
  // app's content security policy).
  await driver.wait(until.elementLocated(By.css('#chart-section .series li')), 10000);
  t.diagnostic(`launch to first chart: ${Date.now() - started} ms (includes tauri-driver start)`);
  const legend = () => driver.findElement(By.css('#chart-section .series')).getText();
  await eventually(async () => /25\.50/.test(await legend()), 'the chart legend with the spend');
  const loaded = await driver.executeScript(
    "const i = document.querySelector('#chart-frame img'); return i && i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/svg+xml');",
  );
  assert.equal(loaded, true, 'the chart image is drawn');
  const bar = await driver.findElement(By.css('#chart-frame [role="option"]'));
  assert.match(await bar.getAttribute('aria-label'), /25\.50, billed$/);

  // The alert is in the app's history.
  await driver.findElement(By.id('tab-alerts')).click();
  const alert = await driver.wait(until.elementLocated(By.css('#alert-list [data-kind="threshold"]')), 10000);
  assert.match(await alert.getText(), /25\.50/);
  assert.deepEqual(query(dataDir, "SELECT threshold_pct, notified_at IS NOT NULL FROM alerts WHERE kind = 'threshold'"), [[100, 1]]);

  // Pausing alerts from the tray is saved and the menu offers to resume.
  desktop.trayClick('Pause alerts for 1 hour');
  await eventually(() => desktop.trayMenu().some((e) => e.label.startsWith('Resume alerts (paused until')), 'the resume item');
  assert.equal(query(dataDir, "SELECT count(*) FROM app_settings WHERE name = 'alerts_paused_until'")[0][0], 1);
});
