// The spend chart on the Spend tab: the SVG from the core with hover tooltips and keyboard
// reading from the returned geometry, range and stacking controls, click-to-filter, export.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, chartView, eventually, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();

const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const plain = (value) => value?.replace(/\s+/g, ' ');

const REPORT = [
  { day: '2026-01-14', source: 'work-openai', provider: 'openai', key_id: null, key_name: null, model: null, currency: 'USD', amount: '5.000000', kind: 'billed' },
  { day: '2026-01-13', source: 'work-openai', provider: 'openai', key_id: null, key_name: null, model: null, currency: 'USD', amount: '12.500000', kind: 'billed' },
];

function backend(extra = {}) {
  return new FakeBackend({ sources: [sourceView({ id: 1, name: 'work-openai', provider: 'openai' })], report: REPORT, ...extra });
}

describe('spend chart', () => {
  test('draws the core SVG with its series, and the range buttons ask for those days', async () => {
    const b = backend();
    const { page } = await openPage(b);
    const frame = page.locator('#chart-frame');
    await frame.waitFor();
    assert.match(await page.locator('#chart-frame img').getAttribute('src'), /^data:image\/svg\+xml/);
    assert.equal(await text(page.locator('#chart-section .series')), 'Alpha USD 15.00 Beta USD 2.50 · includes estimates');
    assert.match(await text(page.locator('#chart-zone')), /UTC days · total USD 17\.50$/);
    const first = b.callsTo('chart')[0].query;
    assert.equal(first.kind, 'daily');
    assert.equal(first.by, 'key');
    const days = (q) => (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 + 1;
    assert.equal(days(first), 30);
    await page.locator('[data-range="7"]').click();
    await eventually(() => days(b.callsTo('chart').at(-1).query) === 7);
    await page.locator('[data-range="90"]').click();
    await eventually(() => days(b.callsTo('chart').at(-1).query) === 90);
    await page.locator('select[name="chart-by"]').selectOption('model');
    await eventually(() => b.callsTo('chart').at(-1).query.by === 'model');
    await page.locator('[data-range="custom"]').click();
    await page.locator('input[name="chart-from"]').fill('2026-01-01');
    await page.locator('input[name="chart-to"]').fill('2026-01-05');
    await eventually(() => {
      const q = b.callsTo('chart').at(-1).query;
      return q.from === '2026-01-01' && q.to === '2026-01-05';
    });
  });

  test('today by hour: asks for the hours of today, shows the hour span and what is left out', async () => {
    const b = backend();
    const { page } = await openPage(b);
    await page.locator('#chart-frame').waitFor();
    b.chartView = chartView({
      from: '2026-01-14', to: '2026-01-14', days_label: 'UTC hours',
      bars: [{ x: 400, y: 200, width: 30, height: 100, day: '2026-01-14', hour: 14, series: 'work-openai/key_FAKE_a', label: 'Alpha', amount: '1.250000', amount_micros: 1250000, estimated: true }],
      note: 'Not split by hour: team-openrouter (reported as whole days; see the daily chart)',
    });
    await page.locator('select[name="chart-kind"]').selectOption('hourly');
    await eventually(() => b.callsTo('chart').at(-1).query.kind === 'hourly');
    const q = b.callsTo('chart').at(-1).query;
    assert.equal(q.to, new Date().toISOString().slice(0, 10));
    assert.equal(q.from, undefined);
    assert.equal(await page.locator('#chart-section .ranges').count(), 0, 'no day ranges for one day of hours');
    assert.equal(await page.locator('select[name="chart-by"]').count(), 1, 'still stacked by key, model or source');
    await page.locator('#chart-note').waitFor();
    assert.match(await text(page.locator('#chart-note')), /Not split by hour: team-openrouter/);
    assert.match(await text(page.locator('#chart-zone')), /UTC hours/);
    await page.locator('#chart-frame').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await text(page.locator('#chart-tooltip')), 'Alpha 2026-01-14 14:00–15:00 UTC USD 1.25 estimated');
    assert.equal(plain(await page.locator('#chart-bar-0').getAttribute('aria-label')), 'Alpha, 2026-01-14 14:00–15:00 UTC: USD 1.25, includes estimates');
  });

  test('hovering a bar shows its day, key, amount and whether it is billed or estimated', async () => {
    const { page } = await openPage(backend());
    const frame = page.locator('#chart-frame');
    await frame.waitFor();
    await frame.scrollIntoViewIfNeeded();
    const box = await frame.boundingBox();
    // The Beta segment: x 100..180, y 60..100 of 900 × 360.
    await page.mouse.move(box.x + (140 / 900) * box.width, box.y + (80 / 360) * box.height);
    const tip = page.locator('#chart-tooltip');
    await tip.waitFor();
    assert.equal(await text(tip), 'Beta 2026-01-13 USD 2.50 estimated');
    await page.mouse.move(box.x + (440 / 900) * box.width, box.y + (250 / 360) * box.height);
    await eventually(async () => (await text(tip)) === 'Alpha 2026-01-14 USD 5.00 billed');
  });

  test('keyboard: arrows read the bars, Enter filters the page to that day, Open key opens its panel', async () => {
    const b = backend();
    const { page } = await openPage(b);
    const frame = page.locator('#chart-frame');
    await frame.focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await frame.getAttribute('aria-activedescendant'), 'chart-bar-0');
    assert.equal(plain(await page.locator('#chart-bar-0').getAttribute('aria-label')), 'Alpha, 2026-01-13: USD 10.00, billed');
    await page.keyboard.press('ArrowRight');
    assert.equal(await text(page.locator('#chart-tooltip')), 'Beta 2026-01-13 USD 2.50 estimated');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    assert.match(await text(page.locator('#chart-selection')), /^Showing Alpha on 2026-01-14\./);
    // The daily table shows that day only.
    assert.equal(await page.locator('#daily-spend tbody tr').count(), 1);
    assert.match(await text(page.locator('#daily-spend-filter')), /^2026-01-14 only/);
    await page.locator('[data-action="open-key"]').click();
    await page.locator('#panel-alerts').waitFor({ state: 'visible' });
    assert.deepEqual(b.callsTo('key_actions').at(-1), { source: 'work-openai', keyId: 'key_FAKE_a' });
    await page.locator('#tab-spend').click();
    await page.locator('[data-action="clear-selection"]').click();
    assert.equal(await page.locator('#daily-spend tbody tr').count(), 2);
    // Escape clears a selection made with the mouse too.
    await page.locator('#chart-bar-1').click({ force: true });
    await page.locator('#chart-selection').waitFor();
    await frame.focus();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#chart-selection').count(), 0);
  });

  test('exports as SVG or PNG through the core and shows where the file went', async () => {
    const b = backend();
    const { page } = await openPage(b);
    await page.locator('#chart-frame').waitFor();
    await page.locator('[data-action="save-png"]').click();
    await page.locator('[data-field="chart-saved"]').waitFor();
    assert.match(await text(page.locator('[data-field="chart-saved"]')), /exports\/chart-daily-by-key\.png$/);
    const call = b.callsTo('save_chart')[0];
    assert.equal(call.format, 'png');
    assert.equal(call.query.by, 'key');
  });

  test('the ledger of the days shown exports as CSV or JSON', async () => {
    const b = backend();
    const { page } = await openPage(b);
    await page.locator('#daily-spend').waitFor();
    await page.locator('[data-action="export-ledger-json"]').click();
    await page.locator('[data-field="ledger-exported"]').waitFor();
    assert.deepEqual(b.callsTo('export_ledger')[0], { from: null, to: null, format: 'json' });
    // Filtered to a day in the chart: that day only.
    await page.locator('#chart-bar-2').click({ force: true });
    await page.locator('#daily-spend-filter').waitFor();
    await page.locator('[data-action="export-ledger-csv"]').click();
    await eventually(() => b.callsTo('export_ledger').length === 2);
    assert.deepEqual(b.callsTo('export_ledger')[1], { from: '2026-01-14', to: '2026-01-14', format: 'csv' });
    assert.match(await text(page.locator('[data-field="ledger-exported"]')), /ledger-2026-01-14\.csv$/);
    // FOCUS CSV for FinOps tools, from the same button row and the same days.
    await page.locator('[data-action="export-ledger-focus"]').click();
    await eventually(() => b.callsTo('export_ledger').length === 3);
    assert.deepEqual(b.callsTo('export_ledger')[2], { from: '2026-01-14', to: '2026-01-14', format: 'focus' });
    await eventually(async () => /focus-2026-01-14\.csv$/.test(await text(page.locator('[data-field="ledger-exported"]'))));
  });

  test('an empty ledger says what to do; several currencies can be switched', async () => {
    const b = backend();
    b.chartView = chartView({ empty: 'No spend from 2025-12-16 to 2026-01-14 — add a source and sync, or pick another range', bars: [], series: [], currency: null, currencies: [], total: null });
    const { page } = await openPage(b);
    await page.locator('#chart-empty').waitFor();
    assert.match(await text(page.locator('#chart-empty')), /add a source and sync/);
    b.chartView = chartView({ currencies: ['CNY', 'USD'] });
    await page.locator('[data-range="7"]').click();
    const select = page.locator('select[name="chart-currency"]');
    await select.waitFor();
    await select.selectOption('CNY');
    await eventually(() => b.callsTo('chart').at(-1).query.currency === 'CNY');
  });
});
