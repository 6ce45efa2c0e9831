// Budgets across currencies in the Budgets tab: a budget whose spend could not all be converted
// says which rate is missing, in words (not colour alone), and shows its spend as "at least";
// a budget that converts other currencies says from which.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, budgetView, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

const MISSING = budgetView({
  id: 4,
  amount: '200.000000',
  currency: 'EUR',
  spent: '136.000000',
  spent_known: false,
  missing_rate: 'missing rate for CNY since 2026-01-09',
  converted_from: ['CNY', 'USD'],
});
const CONVERTED = budgetView({
  id: 5,
  amount: '200.000000',
  currency: 'EUR',
  spent: '168.000000',
  converted_from: ['CNY', 'USD'],
});
const PLAIN = budgetView({ id: 6, spent: '10.000000' });

describe('budgets across currencies', () => {
  test('a missing rate is named on the budget and its spend reads as at least, not as the total', async () => {
    const sources = [
      sourceView({ id: 1, name: 'work-openai', provider: 'openai' }),
      sourceView({ id: 2, name: 'deep', provider: 'deepseek', base_url: 'https://api.deepseek.com' }),
    ];
    const backend = new FakeBackend({ sources, budgets: [MISSING, CONVERTED, PLAIN] });
    const { page } = await openPage(backend);
    await page.locator('#tab-spend').waitFor();
    await page.click('#tab-budgets');
    const missing = page.locator('[data-budget-id="4"]');
    await missing.waitFor();

    assert.equal(
      await text(missing.locator('[data-field="missing-rate"]')),
      'Not counted yet: missing rate for CNY since 2026-01-09. Spend on those days is left out until Burnrate has the ' +
        "rate (burnrate rates sync fetches the ECB's; other currencies: burnrate rates import).",
    );
    assert.equal(await text(missing.locator('[data-field="spent-unknown"]')), 'spend unknown');
    assert.equal(await text(missing.locator('[data-field="spent"]')), 'at least EUR 136.00 of EUR 200.00 · at least 68 %');
    assert.equal(
      await text(missing.locator('[data-field="converted-from"]')),
      "Converted from CNY, USD into EUR at each day's exchange rate.",
    );
    // The warning is styled as one, and its words carry it too.
    const style = await missing
      .locator('[data-field="missing-rate"]')
      .evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).borderLeftStyle]);
    assert.notEqual(style[0], 'rgba(0, 0, 0, 0)', 'a warning background');
    assert.equal(style[1], 'solid');

    const converted = page.locator('[data-budget-id="5"]');
    assert.equal(await converted.locator('[data-field="missing-rate"]').count(), 0);
    assert.equal(await converted.locator('[data-field="spent-unknown"]').count(), 0);
    assert.equal(await text(converted.locator('[data-field="spent"]')), 'EUR 168.00 of EUR 200.00 · 84 %');
    assert.match(await text(converted.locator('[data-field="converted-from"]')), /^Converted from CNY, USD into EUR/);

    // A budget in the one currency its scope spends in looks as it always did.
    const plain = page.locator('[data-budget-id="6"]');
    assert.equal(await plain.locator('[data-field="converted-from"]').count(), 0);
    assert.equal(await text(plain.locator('[data-field="spent"]')), 'USD 10.00 of USD 100.00 · 10 %');
  });
});
