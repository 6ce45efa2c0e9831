// The real app in a display currency: sources billing in USD and CNY, the ECB's rates of some
// days imported through the real CLI, EUR chosen in Settings; the Spend view's month-to-date
// figure in EUR equals a hand computation at each day's rate, the native lines stay, and the
// chart is drawn in EUR with the native amounts in its bars' descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { cli, eventually, launchApp, query } from './harness.mjs';

test('with USD and CNY spend and EUR chosen, the headline says the month in EUR as computed by hand', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'burnrate-e2e-'));
  // A fixed clock (10 March 2026, 18:00 UTC) and no polling: the figures are the files below.
  const env = {
    BURNRATE_NOW: '2026-03-10T18:00:00Z',
    BURNRATE_POLL_SECONDS: 'off',
    BURNRATE_E2E_FX_KEY: 'sk-FAKE-e2e-fx-0000000000000000',
  };
  cli(dataDir, ['source', 'add', 'openai', '--name', 'work', '--key-env', 'BURNRATE_E2E_FX_KEY'], env);
  cli(dataDir, ['source', 'add', 'deepseek', '--name', 'deep', '--key-env', 'BURNRATE_E2E_FX_KEY'], env);
  const header = 'day,amount,currency,key_id,key_name,model,kind\n';
  const file = (name, text) => {
    const path = join(dataDir, name);
    writeFileSync(path, text);
    return path;
  };
  cli(dataDir, ['import', 'csv', '--source', 'work', file('usd.csv', `${header}2026-03-06,10,USD,key_FAKE_u,Usd key,gpt-5,billed
2026-03-07,5,USD,key_FAKE_u,Usd key,gpt-5,billed
2026-03-09,12.5,USD,key_FAKE_u,Usd key,gpt-5,billed
2026-03-10,3,USD,key_FAKE_u,Usd key,gpt-5,billed
`)], env);
  cli(dataDir, ['import', 'csv', '--source', 'deep', file('cny.csv', `${header}2026-03-06,80,CNY,key_FAKE_c,Cny key,deepseek-chat,billed
2026-03-09,15.8,CNY,key_FAKE_c,Cny key,deepseek-chat,billed
2026-03-10,7.9,CNY,key_FAKE_c,Cny key,deepseek-chat,billed
`)], env);
  // Units per EUR on Friday 6 and Monday 9 March only: the weekend and the 10th take the last earlier day's.
  cli(dataDir, ['rates', 'import', file('rates.csv', 'date,currency,rate\n2026-03-06,USD,1.25\n2026-03-06,CNY,8\n2026-03-09,USD,1.30\n2026-03-09,CNY,7.9\n')], env);

  const { driver, stop } = await launchApp(env, dataDir);
  t.after(stop);
  await driver.wait(until.elementLocated(By.css('#spend-headline [data-currency="USD"]')), 20000);
  assert.equal(await driver.findElements(By.css('[data-field="converted"]')).then((e) => e.length), 0, 'nothing converted before the setting');

  // The user picks EUR in Settings.
  await driver.findElement(By.id('tab-settings')).click();
  const select = await driver.wait(until.elementLocated(By.id('display-currency')), 10000);
  await eventually(async () => (await select.isEnabled()) && (await select.findElements(By.css('option[value="EUR"]'))).length === 1, 'the currency list');
  await select.findElement(By.css('option[value="EUR"]')).click();
  await eventually(() => query(dataDir, "SELECT value FROM app_settings WHERE name = 'display_currency'")[0]?.[0] === 'EUR', 'the setting saved');
  await driver.findElement(By.id('tab-spend')).click();

  // By hand, each row ÷ its day's rate, rounded half to even at 10⁻⁶:
  //   6 Mar 10/1.25 + 80/8 = 8 + 10;  7 Mar 5/1.25 = 4 (Friday's rate);
  //   9 Mar 12.5/1.30 = 9.615385 + 15.8/7.9 = 2;  10 Mar 3/1.30 = 2.307692 + 7.9/7.9 = 1 (Monday's).
  //   Month to date: 18 + 4 + 11.615385 + 3.307692 = 36.923077 EUR.
  const month = await driver.wait(until.elementLocated(By.css('[data-field="converted-month"]')), 10000);
  await eventually(async () => (await month.getText()).trim() === '≈ EUR 36.92', 'the EUR figure');
  assert.equal(
    await month.getAttribute('title'),
    "36.923077 EUR, converted from CNY, USD at each day's exchange rate (ECB or imported), 2026-03-06..2026-03-09",
  );
  const today = await driver.findElement(By.css('[data-field="converted-today"]'));
  assert.equal((await today.getText()).trim(), '≈ EUR 3.31');
  // The native lines stay.
  assert.equal((await driver.findElement(By.css('[data-currency="USD"] [data-field="month"]')).getText()).trim(), 'USD 30.50');
  assert.equal((await driver.findElement(By.css('[data-currency="CNY"] [data-field="month"]')).getText()).trim(), 'CNY 103.70');

  // The chart in EUR over the days of the spend (its range buttons count from the machine's
  // real today, not BURNRATE_NOW): the label, and Saturday's bar with its USD at Friday's rate.
  await driver.findElement(By.css('[data-range="custom"]')).click();
  for (const [name, day] of [['chart-from', '2026-03-01'], ['chart-to', '2026-03-10']]) {
    const input = await driver.wait(until.elementLocated(By.css(`input[name="${name}"]`)), 5000);
    await driver.executeScript("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', { bubbles: true }));", input, day);
  }
  const label = await driver.wait(until.elementLocated(By.css('[data-field="chart-converted"]')), 10000);
  assert.equal((await label.getText()).trim(), 'converted to EUR');
  await eventually(async () => {
    const bars = await driver.findElements(By.css('#chart-frame [role="option"][data-day="2026-03-07"]'));
    // Intl puts a no-break space between the code and the number.
    return bars.length === 1 && /EUR\s4\.00 \(USD\s5\.00 at the rate of 2026-03-06\)/.test(await bars[0].getAttribute('aria-label'));
  }, 'the converted bar of 7 March');
  // And the key table's 30 days in EUR.
  const usdKey = await driver.wait(until.elementLocated(By.css('#key-table tr[data-key="key_FAKE_u"] [data-field="converted-30-days"]')), 10000);
  assert.equal((await usdKey.getText()).trim(), '≈ EUR 23.92');
});
