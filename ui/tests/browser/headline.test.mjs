// The Spend view answers first: today, this month against its budget, credit left, unpriced
// tokens, as of when; then the chart (with the clicked day's breakdown beside it) and the keys;
// the sources are below, with "Add a source" next to "Sync all". And it fits 640×480.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, chartView, eventually, headlineView, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
/** The words, not their styling (labels are shown in small capitals). */
const words = async (locator) => (await locator.textContent()).replace(/\s+/g, ' ').trim();

const SYNCED = { finished_at: '2026-01-14T11:55:00Z', ok: true, rows_written: 3, error: null };

function synced() {
  return [
    sourceView({ id: 1, name: 'work-openai', provider: 'openai', last_sync: SYNCED }),
    sourceView({ id: 2, name: 'deep', provider: 'deepseek', base_url: 'https://api.deepseek.com', last_sync: SYNCED }),
  ];
}

function headline(overrides = {}) {
  return headlineView({
    sources: synced(),
    currencies: [
      {
        currency: 'USD',
        today: '4.000000',
        month_to_date: '1234.500000',
        estimated: true,
        forecast: '3040.000000',
        budget: { id: 7, amount: '2000.000000', percent: 61, passes_on: '2026-01-21', passed: false },
        top_key: {
          source: 'work-openai', key_id: 'key_FAKE_b', name: 'Beta', month_to_date: '700.000000', percent: 56, estimated: false,
        },
      },
      { currency: 'CNY', today: '2.000000', month_to_date: '20.000000', estimated: false, forecast: null, budget: null, top_key: null },
    ],
    credits: [
      { source: 'deep', currency: 'CNY', balance: '30.000000', as_of: '2026-01-14T11:55:00Z', runs_out_in_days: 5, runs_out_on: '2026-01-19' },
    ],
    not_reported_today: ['work-openai'],
    unpriced: [
      {
        source: 'claude', model: 'claude-fake-unlisted', tokens: 2500000, keys: ['k1'],
        message: '2,500,000 tokens of claude-fake-unlisted not priced',
        fix: 'burnrate prices set claude-fake-unlisted --input USD_PER_MILLION --output USD_PER_MILLION',
        priced_since: false, first_day: '2026-01-10', last_day: '2026-01-14',
      },
    ],
    ...overrides,
  });
}

function backend(overrides) {
  const b = new FakeBackend({ sources: synced() });
  b.headline = headline(overrides);
  return b;
}

describe('spend headline', () => {
  test('answers how much, on track, credit left and as of when, above the chart', async () => {
    const { page } = await openPage(backend());
    const h = page.locator('#spend-headline');
    await h.waitFor();
    const usd = h.locator('[data-currency="USD"]');
    assert.equal(await text(usd.locator('[data-field="today"]')), 'USD 4.00');
    assert.equal(await text(usd.locator('[data-field="month"]')), 'USD 1,234.50');
    assert.equal(await text(usd.locator('[data-field="forecast"]')), 'USD 3,040.00');
    assert.equal(await text(usd.locator('[data-field="budget"]')), '61 % of USD 2,000.00 · passes the budget on Jan 21, 2026');
    assert.match(await usd.locator('[data-field="budget"]').getAttribute('class'), /tone-warn/);
    // Which key: the month's largest spender, without scrolling to the key table.
    assert.equal(await text(usd.locator('[data-field="top-key"]')), 'Most: Beta · 56 %');
    assert.match(await usd.locator('[data-field="top-key"]').getAttribute('title'), /^Beta \(work-openai\): 700\.000000 USD this month$/);
    assert.equal(await h.locator('[data-currency="CNY"] [data-field="top-key"]').count(), 0, 'no key, no top key');
    // No budget is no budget: never "within budget" in green.
    const cny = h.locator('[data-currency="CNY"]');
    assert.equal(await text(cny.locator('[data-field="budget"]')), 'No budget set · Add one');
    assert.equal(await text(cny.locator('[data-field="forecast"]')), 'after 3 days of spend');
    assert.equal(
      await words(h.locator('[data-field="credit"][data-source="deep"]')),
      'Credit left deep CNY 30.00 · runs out in 5 days (Jan 19, 2026)',
    );
    assert.match(await text(h.locator('[data-field="not-reported"]')), /^Not reported yet today: work-openai/);
    assert.match(await text(h.locator('[data-field="as-of"]')), /^as of /);
    // The headline comes before the chart, the chart before the key table and the sources.
    const top = async (sel) => (await page.locator(sel).boundingBox()).y;
    await page.locator('#chart-frame, #chart-empty').first().waitFor();
    assert.ok((await top('#spend-headline')) < (await top('#chart-section')));
    assert.ok((await top('#spend-headline')) < (await top('#sources')));
    // "Add one" opens the Budgets tab.
    await cny.locator('[data-field="budget"] button').click();
    await eventually(async () => (await page.locator('#tab-budgets').getAttribute('aria-selected')) === 'true');
  });

  test('says why the tray is red and which source is not current', async () => {
    const b = backend();
    b.summary = {
      level: 'over',
      reason: 'Budget total daily: 127 % of 20.00 USD',
      summary: 'Today 25.50 USD · Month 25.50 USD',
      top_keys: [],
      alerts_paused_until: null,
      as_of: '2026-01-14T14:05:00Z',
      stale: [{ source: 'relay', reason: 'last sync failed: the relay rejected the key' }],
    };
    b.headline = headline({ as_of: '2026-01-14T14:05:00Z' });
    const { page } = await openPage(b);
    const h = page.locator('#spend-headline');
    await h.locator('[data-field="level"]').waitFor();
    assert.match(await text(h.locator('[data-field="as-of"]')), /^as of .*\d{1,2}:05/);
    assert.equal(await h.locator('[data-field="as-of"]').getAttribute('title'), '2026-01-14T14:05:00Z');
    assert.equal(
      await text(h.locator('[data-field="stale"][data-source="relay"]')),
      '⏱ Not current: relay — last sync failed: the relay rejected the key',
    );
    assert.equal(await text(h.locator('[data-field="level"]')), 'Over budget — Budget total daily: 127 % of 20.00 USD');
    assert.match(await h.getAttribute('class'), /\bover\b/);
  });

  test('no figures before a first sync, not figures of zero', async () => {
    const b = new FakeBackend({ sources: [sourceView({ id: 1, name: 'work-openai' })] });
    const { page } = await openPage(b);
    const h = page.locator('#spend-headline');
    await h.waitFor();
    assert.match(await text(h.locator('[data-field="no-figures"]')), /^No figures yet/);
    assert.equal(await h.locator('[data-field="today"]').count(), 0);
    assert.doesNotMatch(await text(h), /0\.00/);
  });

  test('an unpriced model is named and can be priced in place', async () => {
    const b = backend();
    const { page } = await openPage(b);
    const item = page.locator('[data-field="unpriced"][data-model="claude-fake-unlisted"]');
    await item.waitFor();
    assert.match(await text(item), /2,500,000 tokens of claude-fake-unlisted not priced in claude: the estimates leave them out/);
    await item.getByRole('button', { name: 'Set a price' }).click();
    await item.getByLabel('Input, USD per million tokens').fill('3');
    await item.getByLabel('Output, USD per million tokens').fill('15');
    await item.getByRole('button', { name: 'Save price' }).click();
    await eventually(() => b.pricesSet?.length === 1);
    assert.deepEqual(b.pricesSet[0], { model: 'claude-fake-unlisted', input: '3', output: '15' });
    // Saving starts a sync, which re-estimates the tokens.
    await eventually(() => b.callsTo('sync_now').length === 1);
  });

  test('a refused price says why where it was typed', async () => {
    const b = backend();
    b.on('set_model_price', () => Promise.reject({ code: 'invalid_input', message: '--input "cheap" is not a price in USD per million tokens (e.g. 2.50)' }));
    const { page } = await openPage(b);
    const item = page.locator('[data-field="unpriced"]');
    await item.getByRole('button', { name: 'Set a price' }).click();
    await item.getByLabel('Input, USD per million tokens').fill('cheap');
    await item.getByLabel('Output, USD per million tokens').fill('15');
    await item.getByRole('button', { name: 'Save price' }).click();
    await eventually(async () => (await item.locator('[role="alert"]').count()) === 1);
    assert.match(await text(item.locator('[role="alert"]')), /not a price in USD per million tokens/);
  });

  test('"Add a source" sits next to "Sync all" and opens the form on demand', async () => {
    const { page } = await openPage(backend());
    await page.locator('#sync-all').waitFor();
    assert.equal(await page.locator('#add-source').count(), 0, 'no always-open form once there are sources');
    const add = page.locator('#show-add-source');
    const [a, s] = [await add.boundingBox(), await page.locator('#sync-all').boundingBox()];
    assert.ok(Math.abs(a.y - s.y) < 4 && Math.abs(a.x + a.width - s.x) < 40, 'side by side');
    await add.press('Enter');
    await page.locator('#add-source-form').waitFor();
    assert.equal(await add.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'add-source-title');
  });

  test("clicking a bar shows that day's breakdown beside the chart", async () => {
    const b = backend();
    const { page } = await openPage(b);
    const bar = page.locator('#chart-frame .hit').first();
    await bar.waitFor();
    const day = await bar.getAttribute('data-day');
    await bar.click();
    const aside = page.locator('#day-breakdown');
    await aside.waitFor();
    const view = chartView({});
    const parts = view.bars.filter((x) => x.day === day);
    const total = parts.reduce((sum, x) => sum + x.amount_micros, 0);
    assert.equal(await aside.locator('li').count(), parts.length);
    assert.equal(await text(aside.locator('[data-field="day-total"]')), `USD ${(total / 1e6).toFixed(2)}`);
    // Beside, not below: at the default size the breakdown's top is within the chart's height.
    const [frame, box] = [await page.locator('#chart-frame').boundingBox(), await aside.boundingBox()];
    assert.ok(box.x > frame.x + frame.width - 1 && box.y < frame.y + frame.height, JSON.stringify({ frame, box }));
  });

  for (const colorScheme of ['light', 'dark']) {
    test(`fits 640×480 without sideways scrolling (${colorScheme})`, async () => {
      const b = backend();
      b.keys = [];
      const { page } = await openPage(b, { colorScheme });
      await page.setViewportSize({ width: 640, height: 480 });
      await page.locator('#spend-headline [data-currency="USD"]').waitFor();
      await page.locator('#sync-all').waitFor();
      const overflow = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(overflow.scroll <= overflow.client, JSON.stringify(overflow));
      // Sync all is reachable without scrolling sideways.
      const sync = await page.locator('#sync-all').boundingBox();
      assert.ok(sync.x >= 0 && sync.x + sync.width <= 640, JSON.stringify(sync));
    });
  }
});
