// The real app turns starting at login on and off from Settings: an XDG autostart entry that
// starts the app hidden in the tray appears in the user's config folder, and goes away again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { APP, eventually, launchApp } from './harness.mjs';

test('start at login writes and removes the autostart entry', async (t) => {
  // A home of its own, so the test never touches the real user's autostart folder.
  const home = mkdtempSync(join(tmpdir(), 'burnrate-e2e-home-'));
  const entry = join(home, '.config', 'autostart', 'Burnrate.desktop');
  const app = await launchApp({ BURNRATE_POLL_SECONDS: 'off', HOME: home });
  t.after(async () => {
    await app.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const { driver } = app;
  await driver.wait(until.elementLocated(By.id('empty-state')), 20000);
  await driver.findElement(By.id('tab-settings')).click();
  const box = await driver.wait(until.elementLocated(By.id('start-at-login')), 10000);
  await driver.wait(until.elementIsEnabled(box), 10000);
  assert.equal(await box.isSelected(), false, 'off until the user turns it on');
  assert.equal(existsSync(entry), false);

  await box.click();
  await eventually(() => existsSync(entry), 'the autostart entry is written');
  const desktop = readFileSync(entry, 'utf8');
  assert.match(desktop, /^\[Desktop Entry\]/);
  assert.ok(desktop.includes(`Exec=${APP} --hidden`), `starts this binary hidden in the tray:\n${desktop}`);
  await driver.wait(async () => box.isSelected(), 5000);

  await box.click();
  await eventually(() => !existsSync(entry), 'the autostart entry is removed');
  await driver.wait(async () => !(await box.isSelected()), 5000);
});
