// The real app in a real WebKit window: add a source through the UI, sync it against a
// loopback provider, and check the screen, the database and the files on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { By, until } from 'selenium-webdriver';
import { eventually, launchApp, query, filesContaining, sourceFingerprint, startOpenRouterMock } from './harness.mjs';

const ENV_KEY = 'sk-or-v1-FAKE-e2e-env-key-000000001234';
const STORE_KEY = 'sk-or-v1-FAKE-e2e-keyring-key-0000005678';

test('adding sources through the UI stores fingerprints, never keys', async (t) => {
  const mock = await startOpenRouterMock(ENV_KEY);
  const { driver, dataDir, stop } = await launchApp({ BURNRATE_E2E_OPENROUTER_KEY: ENV_KEY });
  t.after(async () => { await stop(); mock.close(); });

  // The honest empty state greets a new user.
  const empty = await driver.wait(until.elementLocated(By.id('empty-state')), 20000);
  assert.match(await empty.getText(), /no sources yet/i);

  // 1. A source whose key stays in an environment variable.
  await driver.findElement(By.css('#source-provider option[value="openrouter"]')).click();
  await driver.findElement(By.id('source-name')).sendKeys('e2e-env');
  await driver.findElement(By.id('source-base-url')).sendKeys(mock.url);
  await driver.findElement(By.id('key-mode-env')).click();
  await driver.findElement(By.id('source-key-env')).sendKeys('BURNRATE_E2E_OPENROUTER_KEY');
  // "Test connection" polls the mock with the key before anything is saved.
  await driver.findElement(By.id('test-connection')).click();
  const check = await driver.wait(until.elementLocated(By.css('#connection-check .readable')), 15000);
  assert.match(await check.getText(), /Spend: billed amounts per day, key; 25\.50 USD/);
  assert.deepEqual(query(dataDir, 'SELECT count(*) FROM sources'), [[0]], 'testing saved nothing');
  await driver.findElement(By.id('add-source-submit')).click();

  await driver.wait(until.elementLocated(By.css('[data-source-name="e2e-env"]')), 10000);
  await sourceFingerprint(driver, By, 'e2e-env', 'sk-…1234'); // details on demand

  // A source added in the app syncs at once, in the background: its spend arrives unasked.
  await eventually(() => query(dataDir, 'SELECT count(*) FROM spend')[0][0] === 1, 'the new source synced by itself');
  // That sync may raise an alert (a key spending from nothing); its toast is dismissed like a user would.
  try {
    const dismiss = await driver.wait(until.elementLocated(By.id('toast-dismiss')), 5000);
    await dismiss.click();
  } catch {
    // No alert this time.
  }

  // Sync it by hand too: the mock answers in OpenRouter's documented shape.
  await driver.findElement(By.id('sync-all')).click();
  const result = await driver.wait(until.elementLocated(By.css('#sync-results [data-sync-source="e2e-env"]')), 15000);
  assert.match(await result.getText(), /ok/);

  const rows = query(dataDir, "SELECT name, provider, key_storage, key_env_var, key_fingerprint FROM sources");
  assert.deepEqual(rows, [['e2e-env', 'openrouter', 'env', 'BURNRATE_E2E_OPENROUTER_KEY', 'sk-…1234']]);
  const spend = query(dataDir, "SELECT amount_micros, currency, kind FROM spend");
  assert.deepEqual(spend, [[25500000, 'USD', 'billed']], 'usage_daily 25.5 USD as integer micros');
  // The background poller may have taken snapshots too: check the latest.
  const balance = query(dataDir, "SELECT balance_micros, limit_micros FROM balance_snapshots ORDER BY id DESC LIMIT 1");
  assert.deepEqual(balance, [[74500000, 100000000]]);

  // The headline answers first, with the database's figures: today and the month so far.
  const [[todayMicros]] = query(dataDir, "SELECT sum(amount_micros) FROM spend_daily WHERE day = CAST(strftime('%s', 'now', 'start of day') AS INTEGER)");
  const [[monthMicros]] = query(dataDir, "SELECT sum(amount_micros) FROM spend_daily WHERE day >= CAST(strftime('%s', 'now', 'start of month') AS INTEGER)");
  const usd = (micros) => `USD ${(micros / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const headline = await driver.wait(until.elementLocated(By.css('#spend-headline [data-currency="USD"] [data-field="today"]')), 15000);
  await driver.wait(until.elementTextIs(headline, usd(todayMicros)), 10000);
  assert.equal(await driver.findElement(By.css('#spend-headline [data-currency="USD"] [data-field="month"]')).getText(), usd(monthMicros));
  assert.match(await driver.findElement(By.css('#spend-headline [data-field="budget"]')).getText(), /No budget set/);

  // 2. A source whose key goes to the OS secret store (GNOME Keyring in CI), when one is running.
  if (process.env.BURNRATE_E2E_KEYRING === '1') {
    // Once there is a source, the form opens from "Add a source" next to "Sync all".
    await driver.findElement(By.id('show-add-source')).click();
    await driver.findElement(By.css('#source-provider option[value="openrouter"]')).click();
    await driver.findElement(By.id('source-name')).sendKeys('e2e-keyring');
    await driver.findElement(By.id('source-base-url')).sendKeys(mock.url);
    await driver.findElement(By.id('key-mode-secret')).click();
    await driver.findElement(By.id('source-key')).sendKeys(STORE_KEY);
    await driver.findElement(By.id('add-source-submit')).click();
    await driver.wait(until.elementLocated(By.css('[data-source-name="e2e-keyring"]')), 10000);
    await sourceFingerprint(driver, By, 'e2e-keyring', 'sk-…5678');
    const stored = query(dataDir, "SELECT key_storage, key_env_var FROM sources WHERE name = 'e2e-keyring'");
    assert.deepEqual(stored, [['keyring', null]]);
    assert.equal((await driver.findElements(By.id('source-key'))).length, 0, 'the form with the secret is gone');
  }

  const page = await driver.findElement(By.css('body')).getText();
  assert.ok(!page.includes(ENV_KEY) && !page.includes(STORE_KEY), 'no key on screen');
  await driver.takeScreenshot().then((png) => import('node:fs').then((fs) => fs.writeFileSync(`${dataDir}/../burnrate-e2e.png`, png, 'base64')));
  for (const key of [ENV_KEY, STORE_KEY]) {
    assert.deepEqual(filesContaining(dataDir, key), [], `${key.slice(0, 12)}… is in no file under the data dir`);
  }
});
