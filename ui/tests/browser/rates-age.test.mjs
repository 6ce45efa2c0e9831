// Converted figures say how old their exchange rates are, and why when the ECB could not be
// reached; a single-currency user never sees a word about rates.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, headlineView, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const SYNCED = { finished_at: '2026-04-10T11:55:00Z', ok: true, rows_written: 3, error: null };

function backend(rates) {
  const sources = [sourceView({ id: 1, name: 'work-openai', provider: 'openai', last_sync: SYNCED })];
  const b = new FakeBackend({ sources });
  b.headline = headlineView({ sources });
  b.rates = rates;
  return b;
}

const FRESH = {
  needed: true, newest_day: '2026-04-08', age_days: 2, fetched_at: '2026-04-10T12:00:00Z', failed_at: null, last_error: null,
};

describe('exchange rates age', () => {
  test('nothing about rates while nothing is converted', async () => {
    const { page } = await openPage(backend({ ...FRESH, needed: false }));
    await page.locator('#spend-headline').waitFor();
    await page.locator('#chart-frame, #chart-empty').first().waitFor();
    assert.equal(await page.locator('[data-field="rates-age"]').count(), 0);
  });

  test('says which day the rates are of, under the headline', async () => {
    const { page } = await openPage(backend(FRESH));
    const line = page.locator('[data-field="rates-age"]');
    await line.waitFor();
    assert.equal(await text(line), "Converted at the ECB's daily rates; the newest are of 2026-04-08 (2 days old).");
    assert.doesNotMatch(await line.getAttribute('class'), /warn/);
    const top = async (sel) => (await page.locator(sel).boundingBox()).y;
    assert.ok((await top('#spend-headline')) < (await top('[data-field="rates-age"]')));
  });

  test('offline: says the fetch failed, why, and which rates are still used', async () => {
    const { page } = await openPage(
      backend({
        ...FRESH,
        age_days: 9,
        failed_at: '2026-04-17T09:00:00Z',
        last_error: 'cannot reach www.ecb.europa.eu; the stored rates keep being used (the newest is from 2026-04-08)',
      }),
    );
    const line = page.locator('[data-field="rates-age"]');
    await line.waitFor();
    assert.match(await text(line), /the newest are of 2026-04-08 \(9 days old\)/);
    assert.match(await text(line.locator('[data-field="rates-error"]')), /^Fetching new rates failed at .+: cannot reach www\.ecb\.europa\.eu; .+ Burnrate tries again within the hour\.$/);
    assert.match(await line.getAttribute('class'), /warn/);
  });

  test('no rates at all: converted figures are unknown until a fetch works', async () => {
    const { page } = await openPage(backend({ ...FRESH, newest_day: null, age_days: null, fetched_at: null }));
    const line = page.locator('[data-field="rates-age"]');
    await line.waitFor();
    assert.match(await text(line), /^⚠?\s*No exchange rates yet: converted figures stay unknown until the ECB's rates are fetched/);
  });
});
