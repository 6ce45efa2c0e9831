// The dashboard's key table: which key is spending, sortable without ever ranking two
// currencies against each other, with the inventory flags and a way into the key's panel.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, eventually, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

function keyRow(overrides) {
  return {
    source: 'work-openai', provider: 'openai', key_id: 'key_FAKE_a', name: 'Alpha', fingerprint: 'sk-…aaaa', currency: 'USD',
    today: '2.000000', last_7_days: '5.000000', last_30_days: '10.000000', sparkline: Array.from({ length: 30 }, (_, i) => i * 1000),
    share_basis_points: 4347, estimated: false, limit: null, budget: null, created_at: '2025-11-01T00:00:00Z', age_days: 149,
    rotation_due: true, dormant: false, no_limit: true, disabled: false, environment: null, today_reported: true, unpriced_tokens: 0,
    ...overrides,
  };
}

const KEYS = [
  keyRow({}),
  keyRow({ key_id: 'key_FAKE_b', name: 'Beta', today: '0.000000', last_7_days: '12.000000', last_30_days: '12.000000', share_basis_points: 5217, age_days: 29, rotation_due: false, no_limit: false, limit: '50.000000 USD', environment: 'prod' }),
  keyRow({ key_id: 'key_FAKE_c', name: 'Gamma', currency: 'CNY', today: '7.000000', last_7_days: '7.000000', last_30_days: '7.000000', share_basis_points: 10000, age_days: null, rotation_due: false, no_limit: false, budget: 'monthly budget of 100.00 CNY', estimated: true }),
  keyRow({ key_id: 'key_FAKE_old', name: 'Old', currency: '', today: '0.000000', last_7_days: '0.000000', last_30_days: '0.000000', share_basis_points: 0, sparkline: Array(30).fill(0), dormant: true, age_days: 400 }),
];

function backend() {
  const b = new FakeBackend({ sources: [sourceView({ id: 1, name: 'work-openai', provider: 'openai' })] });
  b.keys = KEYS;
  return b;
}

const names = async (page) => (await page.locator('#key-table tbody tr th button').allInnerTexts()).map((n) => n.trim());

describe('key table', () => {
  test('shows each key with its spend, share, limit and flags', async () => {
    const { page } = await openPage(backend());
    await page.locator('#key-table').waitFor();
    const alpha = page.locator('#key-table tr[data-key="key_FAKE_a"]');
    assert.equal(
      await text(alpha),
      'Alpha work-openai · sk-…aaaa USD 2.00 USD 5.00 USD 10.00 43 % 149 d — rotate no limit',
    );
    // The provider's limit ("50.000000 USD" from the core) is formatted like every other amount.
    const beta = page.locator('tr[data-key="key_FAKE_b"]');
    assert.match(await text(beta), /USD 50\.00 prod$/);
    assert.equal(await text(beta.locator('[data-field="limit"]')), 'USD 50.00');
    assert.equal(await beta.locator('[data-field="limit"]').getAttribute('title'), '50.000000 USD');
    assert.equal(await alpha.locator('[data-field="today"]').getAttribute('title'), '2.000000 USD');
    assert.match(await text(page.locator('tr[data-key="key_FAKE_c"]')), /CNY 7\.00 est\. 100 % — monthly budget of 100\.00 CNY$/);
    assert.match(await text(page.locator('tr[data-key="key_FAKE_old"]')), /— — — — 400 d — rotate dormant no limit$/);
    // The sparkline is drawn from the 30 points.
    const points = await alpha.locator('polyline').getAttribute('points');
    assert.equal(points.split(' ').length, 30);
  });

  test('today not reported yet, tokens without a price, and the notes in line', async () => {
    const b = backend();
    b.keys = [
      keyRow({ today_reported: false, today: '0.000000', unpriced_tokens: 1234567, limit: '1234.5 USD', no_limit: false, rotation_due: false }),
      keyRow({ key_id: 'key_FAKE_b', name: 'Beta', today: '0.000252', rotation_due: false, no_limit: false }),
    ];
    const { page } = await openPage(b);
    await page.locator('#key-table').waitFor();
    const alpha = page.locator('tr[data-key="key_FAKE_a"]');
    const today = alpha.locator('[data-field="today"]');
    assert.equal(await text(today), 'not reported yet');
    assert.equal(await today.locator('.muted').count(), 1);
    // A reported amount under a cent keeps its digits; the Today cell of Beta is money.
    assert.equal(await text(page.locator('tr[data-key="key_FAKE_b"] [data-field="today"]')), 'USD 0.000252');
    // Tokens no list price covers: a warning badge with thousands separators and how to fix it.
    const unpriced = alpha.locator('[data-field="unpriced"]');
    assert.equal(await text(unpriced), '1,234,567 tokens not priced');
    assert.match(await unpriced.getAttribute('class'), /\bwarn\b/);
    assert.match(await unpriced.getAttribute('title'), /burnrate prices set MODEL --input X --output Y.*model-prices\.json/);
    assert.equal(await page.locator('tr[data-key="key_FAKE_b"] [data-field="unpriced"]').count(), 0);
    // The limit column formats money like the other amounts.
    assert.equal(await text(alpha.locator('[data-field="limit"]')), 'USD 1,234.50');
    // The Notes cell stays a table cell, in line with the rest of its row.
    const notes = alpha.locator('td[data-field="notes"]');
    assert.equal(await notes.evaluate((td) => getComputedStyle(td).display), 'table-cell');
    const [cellTop, rowTop] = await Promise.all([
      notes.evaluate((td) => td.getBoundingClientRect().top),
      alpha.evaluate((tr) => tr.getBoundingClientRect().top),
    ]);
    assert.ok(Math.abs(cellTop - rowTop) < 1, `notes cell at ${cellTop}, row at ${rowTop}`);
    assert.equal(await text(alpha.locator('td[data-field="notes"]')), '1,234,567 tokens not priced');
  });

  test('flags follow the core: no limit, dormant and rotate only when it sets them', async () => {
    const b = backend();
    b.keys = [
      keyRow({ rotation_due: false, no_limit: false, dormant: false }),
      keyRow({ key_id: 'key_FAKE_d', name: 'Delta', dormant: true, no_limit: true, rotation_due: false, age_days: null }),
    ];
    const { page } = await openPage(b);
    await page.locator('#key-table').waitFor();
    assert.equal(await text(page.locator('tr[data-key="key_FAKE_a"] td[data-field="notes"]')), '');
    assert.equal(await text(page.locator('tr[data-key="key_FAKE_d"] td[data-field="notes"]')), 'dormant no limit');
  });

  test('fits a 640 × 480 window: no page scrolling sideways, long names cut with the full name kept', async () => {
    const b = backend();
    const long = 'A very long key name that a team gave to its production batch pipeline key';
    b.keys = [...KEYS, keyRow({ key_id: 'key_FAKE_long', name: long, unpriced_tokens: 5000, environment: 'staging' })];
    const { page } = await openPage(b);
    await page.setViewportSize({ width: 640, height: 480 });
    await page.locator('#key-table').waitFor();
    await eventually(async () => (await page.locator('#key-table .spark').first().isVisible()) === false);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls ${overflow} px sideways`);
    const name = page.locator('tr[data-key="key_FAKE_long"] th button');
    assert.equal(await name.getAttribute('title'), long);
    const cut = await name.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, ellipsis: getComputedStyle(el).textOverflow }));
    assert.equal(cut.ellipsis, 'ellipsis');
    assert.ok(cut.scroll > cut.client, 'the long name is cut');
    // The sparkline is back in a wider window.
    await page.setViewportSize({ width: 1024, height: 768 });
    await eventually(async () => page.locator('#key-table .spark').first().isVisible());
  });

  test('sorts by a column, both ways, keeping currencies apart', async () => {
    const { page } = await openPage(backend());
    await page.locator('#key-table').waitFor();
    // Default: 30 days, descending, CNY before USD, the dormant key last.
    assert.deepEqual(await names(page), ['Gamma', 'Beta', 'Alpha', 'Old']);
    await page.locator('[data-sort="today"]').click();
    assert.deepEqual(await names(page), ['Gamma', 'Alpha', 'Beta', 'Old']);
    assert.equal(await page.locator('th:has([data-sort="today"])').getAttribute('aria-sort'), 'descending');
    await page.locator('[data-sort="today"]').click();
    assert.deepEqual(await names(page), ['Gamma', 'Beta', 'Alpha', 'Old']);
    await page.locator('[data-sort="name"]').click();
    assert.deepEqual(await names(page), ['Alpha', 'Beta', 'Gamma', 'Old']);
    await page.locator('[data-sort="age"]').click();
    assert.deepEqual(await names(page), ['Old', 'Alpha', 'Beta', 'Gamma']);
  });

  test('a key name opens its panel', async () => {
    const b = backend();
    const { page } = await openPage(b);
    await page.locator('#key-table').waitFor();
    await page.locator('tr[data-key="key_FAKE_b"] th button').click();
    await page.locator('#panel-alerts').waitFor({ state: 'visible' });
    assert.deepEqual(b.callsTo('key_actions').at(-1), { source: 'work-openai', keyId: 'key_FAKE_b' });
  });

  test('the key panel labels the environment and the table shows it', async () => {
    const b = backend();
    const { page } = await openPage(b);
    await page.locator('#key-table').waitFor();
    await page.locator('tr[data-key="key_FAKE_a"] th button').click();
    const select = page.locator('#key-environment');
    await select.waitFor();
    assert.equal(await select.inputValue(), '', 'Alpha has no label yet');
    await select.focus();
    await page.selectOption('#key-environment', 'staging');
    await page.locator('tr[data-key="key_FAKE_a"] .badge', { hasText: 'staging' }).waitFor({ state: 'attached' });
    assert.deepEqual(b.callsTo('set_key_environment'), [{ source: 'work-openai', keyId: 'key_FAKE_a', environment: 'staging' }]);
    assert.match(await page.locator('#status').innerText(), /Key labelled staging/);
    await page.selectOption('#key-environment', '');
    await page.locator('tr[data-key="key_FAKE_a"] .badge', { hasText: 'staging' }).waitFor({ state: 'detached' });
    assert.equal(b.callsTo('set_key_environment').at(-1).environment, null);
  });

  test('the rotation period is a setting and the table follows it', async () => {
    const b = backend();
    const { page } = await openPage(b);
    await page.locator('#key-table').waitFor();
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.locator('#rotation-days').waitFor();
    assert.equal(await page.inputValue('#rotation-days'), '90');
    await page.fill('#rotation-days', '0');
    await page.click('#save-rotation');
    await page.locator('#rotation-error').waitFor();
    assert.match(await page.locator('#rotation-error').innerText(), /1 to 3650/);
    assert.equal(b.callsTo('set_setting').length, 0, 'refused before it is sent');
    await page.fill('#rotation-days', '180');
    await page.press('#rotation-days', 'Enter');
    await eventually(async () => b.callsTo('set_setting').length === 1);
    assert.deepEqual(b.callsTo('set_setting'), [{ name: 'key_rotation_days', value: '180' }]);
    assert.match(await page.locator('#status').innerText(), /older than 180 days/);
    await eventually(async () => b.callsTo('key_table').length >= 2); // the flags are re-read
  });
});
