// The real app remembers its window's size and position between runs (window.json in the data
// directory), and ignores a saved file that is corrupt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { eventually, launchApp } from './harness.mjs';

test('the window opens where and as large as it was left', async (t) => {
  let app = await launchApp({ BURNRATE_POLL_SECONDS: 'off' });
  const { dataDir } = app;
  t.after(async () => app.stop());
  await app.driver.wait(until.elementLocated(By.id('empty-state')), 20000);
  await app.driver.manage().window().setRect({ x: 40, y: 30, width: 900, height: 700 });
  const set = await app.driver.manage().window().getRect();
  const saved = join(dataDir, 'window.json');
  await eventually(() => existsSync(saved) && JSON.parse(readFileSync(saved, 'utf8')).width === set.width,
    'window.json records the new size');
  const geometry = JSON.parse(readFileSync(saved, 'utf8'));
  assert.equal(geometry.height, set.height);
  await app.stop();

  app = await launchApp({ BURNRATE_POLL_SECONDS: 'off' }, dataDir);
  await app.driver.wait(until.elementLocated(By.id('empty-state')), 20000);
  const restored = await app.driver.manage().window().getRect();
  assert.deepEqual([restored.width, restored.height], [set.width, set.height], 'size restored');
  assert.deepEqual([restored.x, restored.y], [set.x, set.y], 'position restored');
  await app.stop();

  // A corrupt file: the app starts with its default size and writes a good file again later.
  writeFileSync(saved, '{"x": 1,');
  app = await launchApp({ BURNRATE_POLL_SECONDS: 'off' }, dataDir);
  await app.driver.wait(until.elementLocated(By.id('empty-state')), 20000);
  const fresh = await app.driver.manage().window().getRect();
  assert.deepEqual([fresh.width, fresh.height], [1100, 780], 'the default size from tauri.conf.json');
});
