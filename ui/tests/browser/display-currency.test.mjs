// The display currency on the Spend view: with the setting on, the headline says the month in
// one currency first (converted at each day's rate, the rate days on hover, "?" with the
// missing rate rather than a smaller number), the native lines stay below; the chart is drawn
// converted with what was spent natively on hover; the key table adds a converted column; and
// Settings saves the currency and the Spend view follows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, FakeBackend, chartView, eventually, headlineView, resultsPath, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const plain = (value) => value?.replace(/\s+/g, ' ');

const SYNCED = { finished_at: '2026-03-10T17:50:00Z', ok: true, rows_written: 3, error: null };
const SOURCES = [
  sourceView({ id: 1, name: 'work', provider: 'openai', last_sync: SYNCED }),
  sourceView({ id: 2, name: 'deep', provider: 'deepseek', base_url: 'https://api.deepseek.com', last_sync: SYNCED }),
];
const NATIVE = [
  { currency: 'CNY', today: '7.900000', month_to_date: '103.700000', estimated: false, forecast: null, budget: null, top_key: null },
  { currency: 'USD', today: '3.000000', month_to_date: '30.500000', estimated: false, forecast: null, budget: null, top_key: null },
];
const amount = (value, from = '2026-03-06', to = '2026-03-09') => ({
  amount: value, currency: 'EUR', rate_date: from, rate_date_to: to, missing: null,
});
const CONVERTED = {
  today: amount('3.307692', '2026-03-09', '2026-03-09'),
  month_to_date: amount('36.923077'),
  forecast: '200.884630',
  estimated: false,
  from: ['CNY', 'USD'],
  budget: null,
};
const UNKNOWN = {
  ...CONVERTED,
  month_to_date: { amount: null, currency: 'EUR', rate_date: '2026-03-06', rate_date_to: '2026-03-09', missing: 'missing rate for CNY since 2026-03-05' },
  forecast: null,
};

/** The converted daily chart: 6 March in EUR from 10 USD and 80 CNY; 5 March without a CNY rate. */
const CONVERTED_CHART = chartView({
  currency: 'EUR',
  currencies: ['CNY', 'USD'],
  from: '2026-03-01',
  to: '2026-03-10',
  series: [
    { id: 'deep', label: 'deep', color: '#4e79a7', total: '10.000000', estimated: false, partial: true },
    { id: 'work', label: 'work', color: '#f28e2b', total: '8.000000', estimated: false, partial: false },
  ],
  bars: [
    {
      x: 100, y: 200, width: 80, height: 100, day: '2026-03-06', hour: null, series: 'deep', label: 'deep', amount: '10.000000', amount_micros: 10000000, estimated: false,
      native: [{ amount: '80.000000', currency: 'CNY', rate_date: '2026-03-06' }], missing: null,
    },
    {
      x: 100, y: 120, width: 80, height: 80, day: '2026-03-06', hour: null, series: 'work', label: 'work', amount: '8.000000', amount_micros: 8000000, estimated: false,
      native: [{ amount: '10.000000', currency: 'USD', rate_date: '2026-03-06' }], missing: null,
    },
    {
      x: 20, y: 20, width: 60, height: 280, day: '2026-03-05', hour: null, series: 'missing-rate', label: 'Not converted', amount: '', amount_micros: 0, estimated: false,
      native: [{ amount: '5.000000', currency: 'CNY', rate_date: null }], missing: 'missing rate for CNY since 2026-03-05',
    },
  ],
  total: null,
  note: 'missing rate for CNY since 2026-03-05: those days are marked with ?, not drawn as zero; import the rates to fill them',
  converted: { amount: null, currency: 'EUR', rate_date: '2026-03-06', rate_date_to: '2026-03-06', missing: 'missing rate for CNY since 2026-03-05' },
});

function backend({ display = 'EUR', converted = CONVERTED } = {}) {
  const b = new FakeBackend({ sources: SOURCES, settings: { ...DEFAULT_SETTINGS, display_currency: display } });
  b.headline = headlineView({ sources: SOURCES, today: '2026-03-10', currencies: NATIVE, converted: display ? converted : null });
  b.convertedChartView = CONVERTED_CHART;
  return b;
}

describe('display currency', () => {
  test('a budget in the display currency sits on the converted line: how much of it, and when it is passed', async () => {
    const budget = { id: 3, amount: '40.000000', percent: 92, passes_on: '2026-03-11', passed: false };
    const { page } = await openPage(backend({ converted: { ...CONVERTED, budget } }));
    const line = page.locator('#spend-headline [data-field="converted-budget"]');
    await line.waitFor();
    assert.equal(await text(line), '92 % of EUR 40.00 · passes the budget on Mar 11, 2026');
    assert.match(await line.getAttribute('class'), /tone-warn/);
  });

  test('the headline says the month in EUR first, labelled converted with the rate days, the native lines below', async () => {
    const { page } = await openPage(backend());
    const h = page.locator('#spend-headline');
    const month = h.locator('[data-field="converted-month"]');
    await month.waitFor();
    assert.equal(await text(month), '≈ EUR 36.92');
    assert.equal(
      await month.getAttribute('title'),
      "36.923077 EUR, converted from CNY, USD at each day's exchange rate (ECB or imported), 2026-03-06..2026-03-09",
    );
    assert.match(await text(h.locator('[data-field="converted"]')), /^MONTH TO DATE CONVERTED/i);
    assert.equal(await text(h.locator('[data-field="converted-today"]')), '≈ EUR 3.31');
    assert.equal(await text(h.locator('[data-field="converted-forecast"]')), '≈ EUR 200.88');
    assert.equal(await h.locator('[data-field="converted-budget"]').count(), 0, 'no EUR budget, no budget line');
    // First and largest; each currency's own line still there, below it.
    const [conv, usd, cny] = await Promise.all(
      ['[data-field="converted"]', '[data-currency="USD"]', '[data-currency="CNY"]'].map((s) => h.locator(s).first().boundingBox()),
    );
    assert.ok(conv.y < usd.y && conv.y < cny.y, JSON.stringify({ conv, usd, cny }));
    assert.equal(await text(h.locator('[data-currency="USD"] [data-field="month"]')), 'USD 30.50');
    assert.equal(await text(h.locator('[data-currency="CNY"] [data-field="month"]')), 'CNY 103.70');
    const size = async (sel) => parseFloat(await h.locator(sel).evaluate((e) => getComputedStyle(e).fontSize));
    assert.ok((await size('[data-field="converted-month"]')) > (await size('[data-currency="USD"] [data-field="month"]')));
    await h.screenshot({ path: resultsPath('display-currency-headline.png') });
    await page.setViewportSize({ width: 640, height: 480 });
    const overflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(overflow.scroll <= overflow.client, JSON.stringify(overflow));
    await h.screenshot({ path: resultsPath('display-currency-headline-640.png') });
  });

  test('a missing rate shows "? EUR" and why, never a smaller number', async () => {
    const { page } = await openPage(backend({ converted: UNKNOWN }));
    const h = page.locator('#spend-headline');
    await h.locator('[data-field="converted-month"]').waitFor();
    assert.equal(await text(h.locator('[data-field="converted-month"]')), '? EUR');
    assert.equal(await text(h.locator('[data-field="converted-missing"]')), '— missing rate for CNY since 2026-03-05');
    assert.doesNotMatch(await text(h.locator('[data-field="converted-month"]')), /\d/, 'no partial sum');
    assert.equal(await text(h.locator('[data-field="converted-forecast"]')), 'not while a rate is missing');
  });

  test('without a display currency nothing is converted', async () => {
    const b = backend({ display: null });
    const { page } = await openPage(b);
    await page.locator('#spend-headline [data-currency="USD"]').waitFor();
    await page.locator('#chart-frame').waitFor();
    assert.equal(await page.locator('[data-field="converted"]').count(), 0);
    assert.ok(b.callsTo('chart').every((c) => c.query.convert_to === undefined), JSON.stringify(b.callsTo('chart')));
    assert.equal(await page.locator('[data-field="chart-converted"]').count(), 0);
  });

  test('the chart is drawn in EUR with the native amounts and rate day on hover, a gap for a missing rate', async () => {
    const b = backend();
    const { page } = await openPage(b);
    const frame = page.locator('#chart-frame');
    await frame.waitFor();
    // The first read already asks for EUR (it waits for the setting), not a native chart first.
    assert.equal(b.callsTo('chart')[0].query.convert_to, 'EUR');
    assert.equal(await text(page.locator('[data-field="chart-converted"]')), 'total unknown in EUR');
    assert.match(await text(page.locator('#chart-note')), /^missing rate for CNY since 2026-03-05: those days are marked/);
    // A series with a day in the gap has no known total; the others keep theirs.
    assert.equal(await text(page.locator('#chart-section .series li[data-series="deep"] [data-field="series-total"]')), '? EUR');
    assert.equal(await text(page.locator('#chart-section .series li[data-series="work"] [data-field="series-total"]')), 'EUR 8.00');
    await frame.scrollIntoViewIfNeeded();
    const box = await frame.boundingBox();
    // The work segment of 6 March: x 100..180, y 120..200 of 900 × 360.
    await page.mouse.move(box.x + (140 / 900) * box.width, box.y + (160 / 360) * box.height);
    const tip = page.locator('#chart-tooltip');
    await tip.waitFor();
    assert.equal(await text(tip), 'work 2026-03-06 ≈ EUR 8.00 USD 10.00 at the rate of 2026-03-06 billed');
    assert.equal(
      plain(await page.locator('#chart-bar-1').getAttribute('aria-label')),
      'work, 2026-03-06: EUR 8.00 (USD 10.00 at the rate of 2026-03-06), billed',
    );
    // The marked day: what was spent, and why it is not drawn.
    await page.mouse.move(box.x + (50 / 900) * box.width, box.y + (150 / 360) * box.height);
    await eventually(async () => (await text(tip)).startsWith('2026-03-05: not converted'));
    assert.equal(await text(tip), '2026-03-05: not converted missing rate for CNY since 2026-03-05 CNY 5.00 billed');
    // Each currency can still be drawn natively.
    const select = page.locator('select[name="chart-currency"]');
    assert.deepEqual(await select.locator('option').allInnerTexts(), ['EUR (converted)', 'CNY only', 'USD only']);
    await select.selectOption('USD');
    await eventually(() => {
      const q = b.callsTo('chart').at(-1).query;
      return q.currency === 'USD' && q.convert_to === undefined;
    });
  });

  test('the key table adds the 30 days in EUR with the rate days on hover, and fits 640×480', async () => {
    const b = backend();
    const row = (id, currency, amount30, converted) => ({
      source: 'work', provider: 'openai', key_id: id, name: id, fingerprint: null, currency, today: '1.000000', today_reported: true,
      last_7_days: amount30, last_30_days: amount30, sparkline: Array(30).fill(0), share_basis_points: 10000, estimated: false,
      limit: null, budget: null, created_at: null, age_days: null, rotation_due: false, dormant: false, no_limit: false,
      unpriced_tokens: 0, disabled: false, environment: null, converted_30_days: converted,
    });
    b.keys = [
      row('key_FAKE_u', 'USD', '30.500000', amount('23.923077')),
      row('key_FAKE_c', 'CNY', '108.700000', { amount: null, currency: 'EUR', rate_date: null, rate_date_to: null, missing: 'missing rate for CNY since 2026-03-05' }),
    ];
    const { page } = await openPage(b);
    const usd = page.locator('#key-table tr[data-key="key_FAKE_u"] [data-field="converted-30-days"]');
    await usd.waitFor();
    assert.equal((await page.locator('[data-field="converted-head"]').textContent()).trim(), '30 days, EUR');
    assert.equal(await text(usd), '≈ EUR 23.92');
    assert.equal(await usd.getAttribute('title'), "23.923077 EUR: 30.500000 USD converted at each day's rate, 2026-03-06..2026-03-09");
    const cny = page.locator('#key-table tr[data-key="key_FAKE_c"] [data-field="converted-30-days"]');
    assert.equal(await text(cny), '? EUR');
    assert.equal(await cny.getAttribute('title'), 'missing rate for CNY since 2026-03-05');
    // Beside the native amount it converts.
    const cells = await page.locator('#key-table tr[data-key="key_FAKE_u"] td').evaluateAll((tds) => tds.map((td) => td.dataset.field ?? ''));
    assert.equal(cells.indexOf('converted-30-days'), cells.indexOf('last-30-days') + 1);
    await page.setViewportSize({ width: 640, height: 480 });
    const overflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(overflow.scroll <= overflow.client, JSON.stringify(overflow));
  });

  test('Settings offers the currencies, saves display_currency, and the Spend view follows', async () => {
    const b = backend({ display: null });
    const { page } = await openPage(b);
    await page.locator('#chart-frame').waitFor();
    const before = { headline: b.callsTo('spend_headline').length, keys: b.callsTo('key_table').length };
    await page.click('#tab-settings');
    const select = page.locator('#display-currency');
    await eventually(async () => !(await select.isDisabled()));
    assert.equal(await select.inputValue(), '');
    assert.deepEqual(await select.locator('option').allInnerTexts(), ['None (only the currencies spent)', 'EUR', 'AUD', 'CNY', 'GBP', 'JPY', 'USD']);
    // The core now answers with EUR figures.
    b.headline = headlineView({ sources: SOURCES, today: '2026-03-10', currencies: NATIVE, converted: CONVERTED });
    await select.selectOption('EUR');
    await eventually(() => b.settings.display_currency === 'EUR');
    assert.deepEqual(b.callsTo('set_setting').at(-1), { name: 'display_currency', value: 'EUR' });
    assert.match(await text(page.locator('#status')), /also shown in EUR/);
    await eventually(() => b.callsTo('spend_headline').length > before.headline && b.callsTo('key_table').length > before.keys);
    await page.click('#tab-spend');
    await eventually(() => b.callsTo('chart').at(-1).query.convert_to === 'EUR');
    assert.equal(await text(page.locator('[data-field="converted-month"]')), '≈ EUR 36.92');
    // And back to none.
    await page.click('#tab-settings');
    await select.selectOption('');
    await eventually(() => b.settings.display_currency === null);
    assert.deepEqual(b.callsTo('set_setting').at(-1), { name: 'display_currency', value: 'none' });
  });
});
