// Budgets, alerts and acting on a spike: the Budgets / Alerts / Settings tabs, the key panel
// that desktop notifications open (focus-key), the disable-key dialog and incident exports.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FakeBackend,
  alertView,
  budgetView,
  eventually,
  keyReportRow,
  lowContrastText,
  reject,
  resultsPath,
  sourceView,
  useBrowserApp,
  openAddSource,
} from './harness.mjs';

/** The page's clock in tests that install one (en-US, UTC). */
const NOW = '2026-01-14T09:00:00Z';

const openPage = useBrowserApp();

async function open(backend, options) {
  const opened = await openPage(backend, options);
  await opened.page.locator('#tab-spend').waitFor();
  return opened;
}

const emit = (page, event, payload) => page.evaluate(([e, p]) => window.__emitEvent(e, p), [event, payload]);
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? null);
const focusedAction = (page) => page.evaluate(() => document.activeElement?.dataset.action ?? null);

const SPIKE = alertView({ id: 3 });
const THRESHOLD = alertView({
  id: 2,
  kind: 'threshold',
  budget_id: 1,
  source: null,
  key_id: null,
  key_name: null,
  threshold: 80,
  amount: '85.000000',
  limit: '100.000000',
  estimated: true,
  title: '80% of the monthly budget: all sources (estimate)',
  body: '85.00 USD spent of the monthly budget of 100.00 USD for January 2026.\nIncludes token-based estimates.',
  fired_at: '2026-01-13T23:10:00Z',
  notified: false,
  notified_at: null,
  notify_error: 'quiet hours (22:00-07:00)',
});
const FORECAST = alertView({
  id: 1,
  kind: 'forecast',
  budget_id: 2,
  source: 'router',
  key_id: null,
  key_name: null,
  title: 'Forecast: the monthly budget of router will be passed on 2026-01-24',
  body: 'At 4.10 USD a day, router passes its 100.00 USD budget on 2026-01-24.',
  fired_at: '2026-01-12T07:00:00Z',
  notified: false,
  notified_at: null,
  notify_error: 'no notification service on the session bus',
});
const ROUTER_SPIKE = alertView({
  id: 4,
  source: 'router',
  key_id: 'hash_batch',
  key_name: 'Batch job',
  title: 'Spike: key Batch job of router',
  body: '12.00 USD today against a usual 0.40 USD.',
  fired_at: '2026-01-14T08:55:00Z',
});
const RELAY_SPIKE = alertView({
  id: 5,
  source: 'relay',
  key_id: 'relay-key',
  key_name: null,
  title: 'Spike: key relay-key of relay',
  body: '9.00 EUR today against a usual 1.00 EUR.',
  currency: 'EUR',
  fired_at: '2026-01-14T08:58:00Z',
});

function sources() {
  return [
    sourceView({ id: 1, name: 'work-openai', provider: 'openai', key_fingerprint: 'sk-…9f3c' }),
    sourceView({ id: 2, name: 'router', provider: 'openrouter', base_url: 'https://openrouter.ai/api/v1' }),
    sourceView({ id: 3, name: 'relay', provider: 'custom-json', base_url: 'https://relay.example/api', settings: { pointer: '/b' } }),
  ];
}

function backendWithAlerts(overrides = {}) {
  return new FakeBackend({
    sources: sources(),
    alerts: [RELAY_SPIKE, ROUTER_SPIKE, SPIKE, THRESHOLD, FORECAST],
    keyReport: [keyReportRow('work-openai', 'key_prod', 'Production'), keyReportRow('router', 'hash_batch', 'Batch job'), keyReportRow('work-openai', 'key_prod', 'Production')],
    ...overrides,
  });
}

const BUDGETS = [
  budgetView({ id: 1, spent: '42.500000' }),
  budgetView({
    id: 2,
    scope: 'key:work-openai/key_prod',
    scope_kind: 'key',
    source: 'work-openai',
    key_id: 'key_prod',
    key_name: 'Production (sk-…9f3c)',
    period: 'week',
    amount: '20.000000',
    spent: '23.100000',
    estimated: true,
    period_start: '2026-01-12',
    period_end: '2026-01-18',
  }),
  budgetView({
    id: 3,
    scope: 'source:router',
    scope_kind: 'source',
    source: 'router',
    period: 'day',
    amount: '5.000000',
    spent: '4.100000',
    thresholds: [50, 80, 150],
    period_start: '2026-01-14',
    period_end: '2026-01-14',
  }),
];

describe('budgets', () => {
  test('adding a budget sends the request the core expects and re-reads the list', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    await page.click('#tab-budgets');
    await eventually(async () => /No budgets yet\. Add one below/.test(await text(page.locator('#budgets-empty'))));

    // The key list comes from a report by key and source, one option per key.
    await eventually(() => backend.callsTo('daily_report').some((c) => c.query.by.includes('key')));
    assert.deepEqual(backend.callsTo('daily_report').at(-1), { query: { by: ['key', 'source'], from: null, to: null } });
    const options = await page.locator('#budget-scope option').evaluateAll((os) => os.map((o) => [o.value, o.textContent.trim()]));
    assert.deepEqual(options, [
      ['total', 'Everything (all sources)'],
      ['source:work-openai', 'Source work-openai'],
      ['source:router', 'Source router'],
      ['source:relay', 'Source relay'],
      ['key:router/hash_batch', 'Key Batch job · router'],
      ['key:work-openai/key_prod', 'Key Production · work-openai'],
      ['key-other', 'Another key (type its id)…'],
    ]);
    assert.equal(await page.inputValue('#budget-currency'), 'USD');
    assert.equal(await page.inputValue('#budget-thresholds'), '50, 80, 100');

    await page.selectOption('#budget-scope', 'key:work-openai/key_prod');
    await page.selectOption('#budget-period', 'week');
    await page.fill('#budget-amount', '25.50');
    await page.fill('#budget-currency', 'eur');
    await page.fill('#budget-thresholds', '50%, 90');
    const listCalls = backend.callsTo('list_budgets').length;
    await page.click('#add-budget-submit');

    const item = page.locator('#budget-list [data-budget-id="100"]');
    await item.waitFor();
    assert.deepEqual(backend.callsTo('add_budget'), [
      { request: { scope: 'key:work-openai/key_prod', period: 'week', amount: '25.50', currency: 'EUR', thresholds: [50, 90] } },
    ]);
    assert.ok(backend.callsTo('list_budgets').length > listCalls, 'the list is re-read');
    assert.match(await text(item.locator('[data-field="scope"]')), /^Key key_prod · work-openai$/);
    assert.match(await text(page.locator('#status')), /Added a weekly budget of EUR 25\.50 for Key key_prod · work-openai/);
    // The form is back to its defaults for the next one.
    assert.equal(await page.inputValue('#budget-amount'), '');
    assert.equal(await page.inputValue('#budget-scope'), 'total');
    assert.equal(await page.inputValue('#budget-thresholds'), '50, 80, 100');

    // Defaults go out as typed; a key nobody has seen yet is typed by id.
    await page.fill('#budget-amount', '50');
    await page.click('#add-budget-submit');
    await page.locator('[data-budget-id="101"]').waitFor();
    await page.selectOption('#budget-scope', 'key-other');
    await page.fill('#budget-key-id', 'relay/relay-key');
    await page.fill('#budget-amount', '7');
    await page.fill('#budget-thresholds', '');
    await page.click('#add-budget-submit');
    await page.locator('[data-budget-id="102"]').waitFor();
    assert.deepEqual(backend.callsTo('add_budget').slice(1), [
      { request: { scope: 'total', period: 'month', amount: '50', currency: 'USD', thresholds: [50, 80, 100] } },
      { request: { scope: 'key:relay/relay-key', period: 'month', amount: '7', currency: 'USD' } },
    ]);
  });

  test("the core's validation error is shown next to the form and nothing typed is lost", async () => {
    const backend = backendWithAlerts();
    let answer = reject('invalid_input', 'The budget amount must be greater than zero; got 0.');
    backend.on('add_budget', () => answer);
    const { page } = await open(backend);
    await page.click('#tab-budgets');
    await page.locator('#add-budget-form').waitFor();

    await page.selectOption('#budget-scope', 'source:router');
    await page.selectOption('#budget-period', 'day');
    await page.fill('#budget-amount', '0');
    await page.fill('#budget-currency', 'EUR');
    await page.fill('#budget-thresholds', '100, 50');
    await page.click('#add-budget-submit');

    const error = page.locator('#budget-form-error[role="alert"]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'invalid_input');
    assert.match(await text(error), /must be greater than zero; got 0\. Nothing was saved\. Error code: invalid_input/);
    assert.deepEqual(
      [
        await page.inputValue('#budget-scope'),
        await page.inputValue('#budget-period'),
        await page.inputValue('#budget-amount'),
        await page.inputValue('#budget-currency'),
        await page.inputValue('#budget-thresholds'),
      ],
      ['source:router', 'day', '0', 'EUR', '100, 50'],
    );
    assert.equal(await page.locator('#budget-list').count(), 0, 'nothing was added');
    assert.equal(await page.locator('#budgets-empty').count(), 1);

    // A key the core does not know points at the key id field.
    answer = reject('key_not_found', 'No key "nope" in any source; sync first or check the id.');
    await page.selectOption('#budget-scope', 'key-other');
    await page.fill('#budget-key-id', 'nope');
    await page.fill('#budget-amount', '5');
    await page.click('#add-budget-submit');
    await eventually(async () => (await error.getAttribute('data-code')) === 'key_not_found');
    assert.equal(await focusedId(page), 'budget-key-id');
    assert.equal(await page.getAttribute('#budget-key-id', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#budget-key-id'), 'nope');

    // Typing slips are caught before anything is sent.
    const sent = backend.callsTo('add_budget').length;
    await page.fill('#budget-amount', '$5');
    await page.fill('#budget-thresholds', '50, 80.5');
    await page.click('#add-budget-submit');
    await page.locator('#budget-amount-error').waitFor();
    assert.match(await text(page.locator('#budget-amount-error')), /"\$5" is not an amount/);
    assert.match(await text(page.locator('#budget-thresholds-error')), /"80\.5" is not a whole percentage/);
    assert.equal(await focusedId(page), 'budget-amount');
    assert.equal(backend.callsTo('add_budget').length, sent);
  });

  test('each budget shows spend against the amount with threshold ticks, its period, and can be removed', async () => {
    const backend = backendWithAlerts({ budgets: [...BUDGETS] });
    const { page } = await open(backend);
    await page.click('#tab-budgets');
    const total = page.locator('[data-budget-id="1"]');
    await total.waitFor();

    assert.equal(await text(total.locator('[data-field="spent"]')), 'USD 42.50 of USD 100.00 · 42 %');
    assert.equal(await text(total.locator('[data-field="period"]')), 'Monthly · Jan 1 – 31, 2026');
    assert.equal(await total.getAttribute('data-level'), 'ok');
    assert.equal(await total.locator('[data-field="estimate"]').count(), 0);
    const meter = total.locator('[role="meter"]');
    assert.deepEqual(
      await meter.evaluate((m) => [
        m.getAttribute('aria-valuenow'),
        m.getAttribute('aria-valuemax'),
        m.getAttribute('aria-valuetext').replace(/\s/g, ' '),
      ]),
      ['42', '100', '42 % spent: USD 42.50 of USD 100.00'],
    );
    assert.equal(await meter.evaluate((m) => document.getElementById(m.getAttribute('aria-labelledby')).textContent), 'All sources');
    assert.equal(await meter.locator('line.tick').count(), 3);
    assert.equal(await text(total.locator('[data-field="thresholds"]')), 'Alerts at 50 %, 80 %, 100 % (tick marks).');

    const key = page.locator('[data-budget-id="2"]');
    assert.equal(await key.getAttribute('data-level'), 'over');
    assert.equal(await text(key.locator('[data-field="scope"]')), 'Key Production (sk-…9f3c) · work-openai');
    assert.equal(await text(key.locator('[data-field="level"]')), 'over budget');
    assert.equal(await text(key.locator('[data-field="estimate"]')), 'estimate');
    assert.equal(await text(key.locator('[data-field="period"]')), 'Weekly · Jan 12 – 18, 2026');
    // The fill stops at the end of the bar; the text says how far past it is.
    assert.equal(await key.locator('[role="meter"]').getAttribute('aria-valuenow'), '100');
    assert.match(await text(key.locator('[data-field="spent"]')), /115 %$/);

    const daily = page.locator('[data-budget-id="3"]');
    assert.equal(await daily.getAttribute('data-level'), 'warn');
    assert.equal(await text(daily.locator('[data-field="level"]')), 'past 80 %');
    assert.equal(await text(daily.locator('[data-field="period"]')), 'Daily · Jan 14, 2026');
    assert.equal(await daily.locator('[role="meter"]').getAttribute('aria-valuemax'), '150');
    // Ticks sit at their share of the 150 % bar.
    const ticks = await daily.locator('line.tick').evaluateAll((ls) => ls.map((l) => Number(l.getAttribute('x1'))));
    assert.deepEqual(ticks.map((x) => Math.round(x)), [333, 533, 999]);

    // Remove asks first; Escape keeps it.
    await daily.locator('[data-action="remove-budget"]').click();
    await daily.locator('[data-action="confirm-remove-budget"]').waitFor();
    assert.equal(await focusedAction(page), 'cancel-remove-budget');
    assert.match(await text(daily.locator('.confirm')), /Alerts it already fired stay in the history/);
    await page.keyboard.press('Escape');
    await eventually(async () => (await daily.locator('[data-action="confirm-remove-budget"]').count()) === 0);
    assert.equal(await focusedAction(page), 'remove-budget');
    assert.deepEqual(backend.callsTo('remove_budget'), []);

    await daily.locator('[data-action="remove-budget"]').click();
    await daily.locator('[data-action="confirm-remove-budget"]').click();
    await eventually(async () => (await daily.count()) === 0);
    assert.deepEqual(backend.callsTo('remove_budget'), [{ id: 3 }]);
    assert.match(await text(page.locator('#status')), /Removed the budget/);
    assert.equal(await focusedId(page), 'budgets-title');
  });

  test('budgets are re-read after a sync, wherever it started', async () => {
    const backend = backendWithAlerts({ budgets: [BUDGETS[0]] });
    const { page } = await open(backend);
    await page.click('#tab-budgets');
    await page.locator('[data-budget-id="1"]').waitFor();
    backend.budgets = [{ ...BUDGETS[0], spent: '81.000000' }];
    await emit(page, 'sync-finished', []);
    await eventually(async () => (await text(page.locator('[data-budget-id="1"] [data-field="spent"]'))).includes('81 %'));
    assert.equal(await page.getAttribute('[data-budget-id="1"]', 'data-level'), 'warn');
  });
});

describe('alert history', () => {
  test('newest first with kind, estimate and delivery; filters by kind and key', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    await page.click('#tab-alerts');
    const list = page.locator('#alert-list');
    await list.waitFor();
    assert.deepEqual(backend.callsTo('list_alerts'), [{ limit: 500 }]);

    const ids = () => list.locator('> li').evaluateAll((ls) => ls.map((l) => Number(l.dataset.alertId)));
    assert.deepEqual(await ids(), [5, 4, 3, 2, 1]);

    const spike = list.locator('[data-alert-id="3"]');
    assert.equal(await text(spike.locator('[data-field="kind"]')), 'spike');
    assert.equal(await text(spike.locator('[data-field="title"]')), SPIKE.title);
    // The core's sentence ("42.00 USD in the last hour …") shows its amounts like every other amount.
    assert.equal(await text(spike.locator('[data-field="body"]')), 'USD 42.00 in the last hour against a usual USD 1.50.');
    assert.equal(await text(spike.locator('[data-field="fired-at"]')), 'Jan 14, 2026, 8:40 AM');
    assert.equal(await text(spike.locator('[data-field="delivery"]')), 'Shown on the desktop at Jan 14, 2026, 8:40 AM');
    assert.equal(await spike.locator('[data-field="estimate"]').count(), 0);
    assert.equal(await spike.locator('[data-action="disable-key"]').count(), 1);

    const threshold = list.locator('[data-alert-id="2"]');
    assert.equal(await text(threshold.locator('[data-field="kind"]')), 'threshold');
    assert.equal(await text(threshold.locator('[data-field="estimate"]')), 'estimate');
    assert.equal(await text(threshold.locator('[data-field="delivery"]')), 'Not shown on the desktop: quiet hours (22:00-07:00)');
    assert.equal(await threshold.locator('[data-field="delivery"]').getAttribute('data-notified'), 'false');
    // A budget alert without a key has nothing to disable or export.
    assert.equal(await threshold.locator('[data-action]').count(), 0);
    assert.equal(await list.locator('[data-alert-id="1"] [data-action]').count(), 0);

    await page.selectOption('#alert-filter-kind', 'spike');
    await eventually(async () => (await ids()).join() === '5,4,3');
    assert.equal(await text(page.locator('#alert-count')), '3 of 5 alerts');

    const keyOptions = await page.locator('#alert-filter-key option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(keyOptions, ['', 'router/hash_batch', 'work-openai/key_prod', 'relay/relay-key']);
    await page.selectOption('#alert-filter-key', 'router/hash_batch');
    await eventually(async () => (await ids()).join() === '4');

    await page.selectOption('#alert-filter-kind', 'threshold');
    await page.locator('#alerts-filter-empty').waitFor();
    assert.equal(await list.locator('> li').count(), 0);
    await page.click('#alerts-filter-empty button');
    await eventually(async () => (await ids()).length === 5);
    assert.equal(await page.inputValue('#alert-filter-kind'), '');
  });

  test('with no alerts the view says how alerts come about', async () => {
    const { page } = await open(new FakeBackend({ sources: sources() }));
    await page.click('#tab-alerts');
    const empty = page.locator('#alerts-empty');
    await eventually(async () => /No alerts yet/.test(await empty.innerText()));
    assert.match(await text(empty), /Add a budget under Budgets/);
    assert.match(await text(empty), /spikes on any key are detected after every sync/);
  });
});

describe('acting on a key', () => {
  test('OpenAI: the irreversible checkbox gates Delete, focus stays in the dialog, Esc cancels, confirming records', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    await page.click('#tab-alerts');
    const opener = page.locator('[data-alert-id="3"] [data-action="disable-key"]');
    await opener.click();

    const dialog = page.locator('dialog#disable-dialog');
    await dialog.waitFor();
    assert.equal(await dialog.evaluate((d) => d.open && d.matches(':modal')), true);
    assert.equal(await focusedId(page), 'disable-cancel', 'the safe choice has focus');
    assert.equal(await text(page.locator('#disable-title')), 'Delete key Production (sk-…9f3c)?');
    assert.equal(await text(dialog.locator('[data-field="source"]')), 'work-openai (OpenAI)');
    assert.equal(await text(dialog.locator('[data-field="key-id"]')), 'key_prod');
    assert.match(await text(page.locator('#disable-what')), /Every app, script or service that uses it stops working/);
    assert.match(await text(page.locator('#disable-irreversible')), /This cannot be undone\. OpenAI deletes the key for good/);
    assert.equal(
      await text(page.locator('label[for="disable-ack"]')),
      'I understand the provider deletes this key and it cannot be undone',
    );

    // Without the acknowledgement the button does nothing.
    assert.equal(await page.getAttribute('#disable-confirm', 'aria-disabled'), 'true');
    assert.equal(await page.getAttribute('#disable-confirm', 'aria-describedby'), 'disable-ack-hint');
    await page.click('#disable-confirm', { force: true });
    await page.focus('#disable-confirm');
    await page.keyboard.press('Enter');
    assert.deepEqual(backend.callsTo('disable_key'), []);
    assert.equal(await page.locator('#disable-dialog').count(), 1);

    // Tab and Shift+Tab cycle inside the dialog.
    const seen = new Set();
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      seen.add(await focusedId(page));
      assert.ok(await page.evaluate(() => document.getElementById('disable-dialog').contains(document.activeElement)));
    }
    assert.deepEqual([...seen].sort(), ['disable-ack', 'disable-cancel', 'disable-confirm']);
    await page.keyboard.press('Shift+Tab');
    assert.ok(await page.evaluate(() => document.getElementById('disable-dialog').contains(document.activeElement)));

    await page.keyboard.press('Escape');
    await eventually(async () => (await dialog.count()) === 0);
    assert.equal(await focusedAction(page), 'disable-key', 'focus returns to the button that opened it');
    assert.deepEqual(backend.callsTo('disable_key'), []);

    // Again, acknowledged this time.
    await opener.click();
    await dialog.waitFor();
    await page.check('#disable-ack');
    assert.equal(await page.getAttribute('#disable-confirm', 'aria-disabled'), null);
    await page.click('#disable-confirm');
    const result = page.locator('#disable-result');
    await result.waitFor();
    assert.deepEqual(backend.callsTo('disable_key'), [
      { source: 'work-openai', keyId: 'key_prod', confirm: { confirmed: true, acknowledged_irreversible: true }, alertId: 3 },
    ]);
    assert.equal(await result.getAttribute('data-ok'), 'true');
    assert.match(await text(result), /done Key deleted at .*The provider confirmed the key is disabled\. Recorded in the key's actions\./);
    assert.equal(await page.locator('#disable-confirm').count(), 0, 'nothing left to confirm');
    assert.equal(await text(page.locator('#disable-cancel')), 'Close');
    assert.equal(await focusedId(page), 'disable-cancel');
    await page.click('#disable-cancel');
    await eventually(async () => (await dialog.count()) === 0);
  });

  test('a reversible provider needs no checkbox; a refusal shows its message and lands in the key actions', async () => {
    const backend = backendWithAlerts();
    backend.disableFailure = { code: 'key_rejected', message: 'OpenRouter refused: only management keys can disable keys (HTTP 403).' };
    const { page } = await open(backend);
    await page.click('#tab-alerts');
    await page.locator('[data-alert-id="4"] [data-action="open-key"]').click();
    await page.locator('#key-panel').waitFor();
    assert.equal(await focusedId(page), 'key-panel-title');
    await eventually(() => backend.callsTo('key_actions').length === 1);
    assert.match(await text(page.locator('#key-actions-empty')), /Nothing done to this key yet/);

    await page.click('#key-panel-disable');
    await page.locator('#disable-dialog').waitFor();
    assert.equal(await text(page.locator('#disable-title')), 'Disable key Batch job?');
    assert.equal(await page.locator('#disable-ack').count(), 0);
    assert.match(await text(page.locator('#disable-what')), /or you turn this one back on at the provider/);
    await page.click('#disable-confirm');

    const error = page.locator('#disable-error[role="alert"]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'key_rejected');
    assert.match(await text(error), /only management keys can disable keys \(HTTP 403\)/);
    assert.deepEqual(backend.callsTo('disable_key'), [
      // From the panel, the action answers the key's spike.
      { source: 'router', keyId: 'hash_batch', confirm: { confirmed: true, acknowledged_irreversible: false }, alertId: 4 },
    ]);
    // The dialog stays for another try; the failed attempt shows in the panel behind it.
    assert.equal(await page.locator('#disable-confirm').count(), 1);
    const failed = page.locator('#key-actions li[data-ok="false"]');
    await failed.waitFor();
    assert.match(await text(failed), /failed Disable .*only management keys/);

    await page.keyboard.press('Escape');
    await eventually(async () => (await page.locator('#disable-dialog').count()) === 0);
    assert.equal(await focusedId(page), 'key-panel-disable');
  });

  test('a provider that cannot disable keys shows how to revoke by hand and no disable button', async () => {
    const { page } = await open(backendWithAlerts());
    await page.click('#tab-alerts');
    await page.locator('[data-alert-id="5"] [data-action="disable-key"]').click();
    await page.locator('#disable-dialog').waitFor();
    assert.equal(await page.locator('#disable-confirm').count(), 0);
    assert.match(await text(page.locator('#disable-what')), /Custom JSON endpoint cannot switch keys off through its API/);
    assert.equal(
      await text(page.locator('#disable-revoke-help')),
      'Revoke it by hand: the console of the service that issued the key',
    );
    assert.equal(await text(page.locator('#disable-cancel')), 'Close');
    await page.keyboard.press('Escape');
    await eventually(async () => (await page.locator('#disable-dialog').count()) === 0);
  });

  test('exporting an incident report shows the path written, or why not', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    await page.click('#tab-alerts');
    const spike = page.locator('[data-alert-id="3"]');
    await spike.locator('[data-action="export-markdown"]').click();
    const result = spike.locator('[data-field="export-result"]');
    await result.waitFor();
    assert.equal(await text(result), 'Saved the report to /home/user/burnrate-incident-work-openai-key_prod.md');
    assert.deepEqual(backend.callsTo('export_incident'), [
      { source: 'work-openai', keyId: 'key_prod', alertId: 3, format: 'markdown' },
    ]);
    assert.equal(
      await spike.locator('[data-action="export-csv"]').evaluate((b) => b.textContent.replace(/\s+/g, ' ').trim()),
      'Export incident report as CSV',
    );

    backend.on('export_incident', () => reject('data_dir_unwritable', 'Cannot write /home/user/Documents: permission denied.'));
    await spike.locator('[data-action="export-csv"]').click();
    const error = spike.locator('[data-field="export-error"]');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'data_dir_unwritable');
    assert.match(await text(error), /permission denied/);
    assert.equal(await result.count(), 0);
  });
});

describe('events from the shell', () => {
  test('focus-key (a notification\'s "Open") shows that key\'s alerts and actions and moves focus there', async () => {
    const backend = backendWithAlerts({
      keyActions: [
        {
          id: 9,
          source: 'work-openai',
          provider: 'openai',
          key_id: 'key_prod',
          key_name: 'Production',
          key_fingerprint: 'sk-…9f3c',
          action: 'disable',
          requested_at: '2026-01-14T08:45:00Z',
          ok: false,
          detail: 'OpenAI refused: this Admin key is read-only (HTTP 403).',
          alert_id: 3,
          rule_id: null,
          dry_run: false,
        },
        {
          id: 10,
          source: 'work-openai',
          provider: 'openai',
          key_id: 'key_prod',
          key_name: 'Production',
          key_fingerprint: 'sk-…9f3c',
          action: 'disable',
          requested_at: '2026-01-14T08:41:00Z',
          ok: true,
          detail: 'dry run: would have disabled key "Production" at OpenRouter; nothing was sent',
          alert_id: 3,
          rule_id: 2,
          dry_run: true,
        },
      ],
    });
    const { page } = await open(backend);
    await page.locator('#source-list').waitFor();
    await eventually(() => backend.callsTo('list_alerts').length === 1);

    await emit(page, 'focus-key', { source: 'work-openai', key_id: 'key_prod' });
    const panel = page.locator('#key-panel');
    await panel.waitFor();
    await eventually(async () => (await focusedId(page)) === 'key-panel-title');
    assert.equal(await page.getAttribute('#tab-alerts', 'aria-selected'), 'true');
    assert.equal(await page.locator('#panel-spend').isHidden(), true);
    assert.deepEqual(backend.callsTo('key_actions'), [{ source: 'work-openai', keyId: 'key_prod' }]);
    assert.equal(await text(page.locator('#key-panel-title')), 'Key Production (sk-…9f3c)');
    assert.deepEqual(await page.locator('#key-panel-alerts > li').evaluateAll((ls) => ls.map((l) => l.dataset.alertId)), ['3']);
    const action = page.locator('#key-actions [data-action-id="9"]');
    await action.waitFor();
    assert.match(await text(action), /failed Disable Jan 14, 2026, 8:45 AM · for alert #3 OpenAI refused: this Admin key is read-only/);
    // A rule's dry run says it was automatic and that nothing was sent.
    assert.match(
      await text(page.locator('#key-actions [data-action-id="10"]')),
      /^dry run Disable · automatic \(rule #2\) Jan 14, 2026, 8:41 AM · for alert #3 dry run: would have disabled/,
    );
    assert.equal(await text(panel.locator('[data-field="fingerprint"]')), 'sk-…9f3c');
    assert.match(await text(page.locator('#status')), /Showing key Production \(sk-…9f3c\) of work-openai/);

    // Exports from the panel cover the key's latest episode.
    await panel.locator('[data-action="export-csv"]').click();
    await panel.locator('[data-field="export-result"]').waitFor();
    assert.deepEqual(backend.callsTo('export_incident'), [{ source: 'work-openai', keyId: 'key_prod', alertId: null, format: 'csv' }]);

    await page.click('#key-panel-close');
    assert.equal(await panel.count(), 0);
    assert.equal(await focusedId(page), 'alerts-title');
  });

  test('a focus-key that arrives while the app is still loading opens the panel once it has loaded', async () => {
    const backend = backendWithAlerts();
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    const info = await backend.handle('app_info', {});
    backend.on('app_info', () => gate.then(() => info));
    const { page } = await openPage(backend);
    await page.locator('main .loading').waitFor();
    // Listeners are registered on mount; give the mocked event plugin a moment to take them.
    await eventually(() => page.evaluate(() => window.__emitEvent !== undefined));
    await page.waitForTimeout(100);
    await emit(page, 'focus-key', { source: 'router', key_id: 'hash_batch' });
    release();
    await page.locator('#key-panel').waitFor();
    await eventually(async () => (await focusedId(page)) === 'key-panel-title');
    assert.equal(await page.getAttribute('#tab-alerts', 'aria-selected'), 'true');
    await eventually(async () => (await text(page.locator('#key-panel-title'))) === 'Key Batch job');
  });

  test('alerts-fired shows a toast, counts unread alerts and refreshes the lists', async () => {
    const backend = backendWithAlerts({ alerts: [THRESHOLD], budgets: [BUDGETS[0]] });
    const { page } = await open(backend);
    await page.locator('#source-list').waitFor();
    await eventually(() => backend.callsTo('list_budgets').length === 1 && backend.callsTo('list_alerts').length === 1);

    backend.alerts = [SPIKE, THRESHOLD];
    await emit(page, 'alerts-fired', [SPIKE]);
    const toast = page.locator('#alert-toast');
    await toast.waitFor();
    assert.match(await text(toast), /spike New alert: Spike: key Production \(sk-…9f3c\) of work-openai/);
    assert.equal(await text(page.locator('#alerts-unread')), '1 new');
    await eventually(() => backend.callsTo('list_alerts').length === 2 && backend.callsTo('list_budgets').length === 2);

    // One key behind the alert: "Show key" opens its panel.
    assert.equal(await text(page.locator('#toast-show')), 'Show key');
    await page.click('#toast-show');
    await page.locator('#key-panel').waitFor();
    await eventually(async () => (await focusedId(page)) === 'key-panel-title');
    assert.equal(await toast.count(), 0);
    assert.equal(await page.locator('#alerts-unread').count(), 0, 'seen once the Alerts tab is open');

    await page.click('#tab-spend');
    await emit(page, 'alerts-fired', [ROUTER_SPIKE, THRESHOLD]);
    await toast.waitFor();
    assert.match(await text(toast), /2 new alerts: Spike: key Batch job of router/);
    assert.equal(await text(page.locator('#alerts-unread')), '2 new');
    assert.equal(await text(page.locator('#toast-show')), 'Show alerts');
    await page.click('#toast-show');
    await eventually(async () => (await focusedId(page)) === 'alerts-title');
    // Seen on the Alerts tab: a new batch while it is open raises no banner, it is in the list.
    await emit(page, 'alerts-fired', [FORECAST]);
    await eventually(() => backend.callsTo('list_alerts').length >= 4);
    assert.equal(await toast.count(), 0);

    await page.click('#tab-spend');
    await emit(page, 'alerts-fired', [FORECAST]);
    await toast.waitFor();
    await page.click('#toast-dismiss');
    assert.equal(await toast.count(), 0);
  });
});

describe('settings', () => {
  test('pause alerts for an hour shows until when; resume; the Alerts tab says they are paused', async () => {
    const backend = backendWithAlerts();
    backend.on('pause_alerts', ({ seconds }) => {
      backend.settings = { ...backend.settings, alerts_paused_until: seconds > 0 ? '2026-01-14T10:00:00Z' : null };
      return backend.settings;
    });
    const { page } = await open(backend, { clock: { time: NOW } });
    await page.click('#tab-settings');
    const pause = page.locator('#pause-alerts');
    await eventually(async () => (await pause.getAttribute('aria-disabled')) === null);
    assert.equal(await text(pause), 'Pause alerts for 1 hour');
    assert.match(await text(page.locator('#alerts-paused-until')), /^on Alerts appear on the desktop as they fire\.$/);

    await pause.click();
    await eventually(async () => (await pause.getAttribute('data-paused')) === 'true');
    assert.deepEqual(backend.callsTo('pause_alerts'), [{ seconds: 3600 }]);
    assert.equal(await text(pause), 'Resume alerts');
    assert.equal(
      await text(page.locator('#alerts-paused-until')),
      'paused until 10:00 AM (in 1 h). Alerts are still recorded and listed under Alerts.',
    );
    assert.match(await text(page.locator('#status')), /Desktop alerts paused until 10:00 AM/);

    await page.click('#tab-alerts');
    assert.match(await text(page.locator('#alerts-paused-note')), /Desktop alerts are paused until 10:00 AM/);
    await page.click('#alerts-paused-note button');
    assert.equal(await focusedId(page), 'tab-settings');

    await pause.click();
    await eventually(async () => (await pause.getAttribute('data-paused')) === 'false');
    assert.deepEqual(backend.callsTo('pause_alerts').at(-1), { seconds: 0 });
    assert.match(await text(page.locator('#status')), /Desktop alerts resumed/);
  });

  test('start at login is read from the OS, turned on and off, and a refusal is shown', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    await page.click('#tab-settings');
    const box = page.locator('#start-at-login');
    await eventually(async () => !(await box.isDisabled()));
    assert.equal(await box.isChecked(), false, 'off by default');

    await box.click();
    await eventually(async () => await box.isChecked());
    assert.deepEqual(backend.callsTo('set_start_at_login'), [{ enabled: true }]);
    assert.match(await text(page.locator('#status')), /start when you log in, hidden in the tray/);

    backend.startAtLoginFails = true;
    await box.click();
    await page.locator('#start-at-login-error').waitFor();
    assert.match(await text(page.locator('#start-at-login-error')), /could not change the start-at-login entry/);
    assert.equal(await box.isChecked(), true, 'shows what the OS still has');
  });

  test('a pause from the tray shows in the open window without a reload', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend, { clock: { time: NOW } });
    await page.click('#tab-settings');
    const pause = page.locator('#pause-alerts');
    await eventually(async () => (await pause.getAttribute('aria-disabled')) === null);
    assert.equal(await pause.getAttribute('data-paused'), 'false');

    await emit(page, 'settings-changed', { ...backend.settings, alerts_paused_until: '2026-01-14T10:00:00Z' });
    await eventually(async () => (await pause.getAttribute('data-paused')) === 'true');
    assert.equal(await text(pause), 'Resume alerts');
    assert.match(await text(page.locator('#status')), /Settings changed from the tray/);
    assert.deepEqual(backend.callsTo('pause_alerts'), [], 'the window only showed what the tray did');
  });

  test('time zone and quiet hours are saved by name; errors keep the input', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    await page.click('#tab-settings');
    await eventually(async () => (await page.inputValue('#time-zone')) === 'local');
    assert.equal(await text(page.locator('#effective-time-zone')), 'UTC');

    const budgetReads = backend.callsTo('list_budgets').length;
    await page.fill('#time-zone', 'Europe/Berlin');
    await page.click('#save-time-zone');
    await eventually(async () => (await text(page.locator('#effective-time-zone'))) === 'Europe/Berlin');
    assert.deepEqual(backend.callsTo('set_setting'), [{ name: 'time_zone', value: 'Europe/Berlin' }]);
    await eventually(() => backend.callsTo('list_budgets').length > budgetReads, 2000);

    backend.on('set_setting', () => reject('invalid_input', 'Unknown time zone "Mars/Base"; use an IANA name such as Europe/Berlin, or local.'));
    await page.fill('#time-zone', 'Mars/Base');
    await page.press('#time-zone', 'Enter');
    const error = page.locator('#time-zone-error');
    await error.waitFor();
    assert.match(await text(error), /Unknown time zone "Mars\/Base"/);
    assert.equal(await page.inputValue('#time-zone'), 'Mars/Base');
    assert.equal(await page.getAttribute('#time-zone', 'aria-invalid'), 'true');
    assert.equal(await focusedId(page), 'time-zone');
    backend.overrides.delete('set_setting');

    // A malformed range never leaves the page.
    const sent = backend.callsTo('set_setting').length;
    await page.fill('#quiet-hours', '10pm-7am');
    await page.click('#save-quiet-hours');
    await page.locator('#quiet-hours-error').waitFor();
    assert.match(await text(page.locator('#quiet-hours-error')), /not a range like 22:00-07:00/);
    assert.equal(backend.callsTo('set_setting').length, sent);

    await page.fill('#quiet-hours', '22:00-07:00');
    await page.click('#save-quiet-hours');
    await page.locator('#clear-quiet-hours').waitFor();
    assert.deepEqual(backend.callsTo('set_setting').at(-1), { name: 'quiet_hours', value: '22:00-07:00' });
    assert.equal(await page.locator('#quiet-hours-error').count(), 0);
    assert.equal(await text(page.locator('#quiet-hours-current')), '22:00-07:00');
    await page.click('#clear-quiet-hours');
    await eventually(async () => (await page.locator('#clear-quiet-hours').count()) === 0);
    assert.deepEqual(backend.callsTo('set_setting').at(-1), { name: 'quiet_hours', value: '' });
    assert.equal(await page.inputValue('#quiet-hours'), '');
  });
});

describe('tabs', () => {
  test('first load shows Spend with the source controls; arrows, Home and End move between tabs; forms survive', async () => {
    const backend = backendWithAlerts();
    const { page } = await open(backend);
    for (const selector of ['#sync-all', '[data-source-name="work-openai"] [data-action="sync"]', '#show-add-source']) {
      assert.ok(await page.locator(selector).first().isVisible(), `${selector} is visible on first load`);
    }
    assert.deepEqual(
      await page.locator('[role="tab"]').evaluateAll((ts) => ts.map((t) => [t.id, t.getAttribute('aria-selected'), t.tabIndex])),
      [
        ['tab-spend', 'true', 0],
        ['tab-budgets', 'false', -1],
        ['tab-alerts', 'false', -1],
        ['tab-gateways', 'false', -1],
        ['tab-settings', 'false', -1],
      ],
    );

    // Theme radios, then the selected tab: one stop for the whole tab list.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'tab-spend');
    await page.keyboard.press('ArrowRight');
    assert.equal(await focusedId(page), 'tab-budgets');
    assert.equal(await page.getAttribute('#tab-budgets', 'aria-selected'), 'true');
    assert.equal(await page.locator('#panel-budgets').isVisible(), true);
    assert.equal(await page.locator('#panel-spend').isHidden(), true);
    assert.equal(await page.getAttribute('#panel-budgets', 'aria-labelledby'), 'tab-budgets');

    await page.keyboard.press('End');
    assert.equal(await focusedId(page), 'tab-settings');
    await page.keyboard.press('ArrowRight');
    assert.equal(await focusedId(page), 'tab-spend', 'wraps around');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focusedId(page), 'tab-settings');
    await page.keyboard.press('Home');
    assert.equal(await focusedId(page), 'tab-spend');

    // Tab leaves the tab list into the panel (built when first opened: wait for it).
    await page.keyboard.press('End');
    await page.locator('#time-zone').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'time-zone');

    // Half-typed input is still there after a round trip.
    await page.click('#tab-budgets');
    await page.fill('#budget-amount', '12');
    await page.click('#tab-spend');
    await openAddSource(page);
    await page.fill('#source-name', 'half-typed');
    await page.click('#tab-budgets');
    assert.equal(await page.inputValue('#budget-amount'), '12');
    await page.click('#tab-spend');
    assert.equal(await page.inputValue('#source-name'), 'half-typed');
  });

  test('with no sources the Budgets tab sends people to Spend first', async () => {
    const { page } = await open(new FakeBackend());
    await page.locator('#empty-state').waitFor();
    await page.click('#tab-budgets');
    assert.match(await text(page.locator('#budgets-no-sources')), /Add a source first/);
    await page.click('#budgets-no-sources button');
    assert.equal(await focusedId(page), 'tab-spend');
    assert.ok(await page.locator('#empty-state').isVisible());
  });

  test('contrast holds in light and dark on every new view and the dialog; screenshots', async () => {
    const backend = backendWithAlerts({ budgets: [...BUDGETS] });
    backend.settings = { ...backend.settings, quiet_hours: '22:00-07:00', alerts_paused_until: '2026-01-14T10:00:00Z' };
    const { page } = await open(backend, { clock: { time: NOW } });
    await page.locator('#source-list').waitFor();
    await emit(page, 'alerts-fired', [SPIKE]);
    await page.locator('#alert-toast').waitFor();

    for (const theme of ['light', 'dark']) {
      await page.click(`label[for="theme-${theme}"]`);
      for (const tab of ['budgets', 'alerts', 'settings']) {
        await page.click(`#tab-${tab}`);
        if (tab === 'alerts' && (await page.locator('#key-panel').count()) === 0) {
          await page.locator('[data-alert-id="3"] [data-action="open-key"]').click();
          await page.locator('#key-panel').waitFor();
          await page.locator('[data-alert-id="3"] [data-action="export-markdown"]').click();
          await page.locator('[data-alert-id="3"] [data-field="export-result"]').waitFor();
        }
        if (tab === 'budgets') {
          await page.click('#add-budget-submit');
          await page.locator('#budget-amount-error').waitFor();
        }
        await page.mouse.click(5, 5);
        assert.deepEqual(await lowContrastText(page), [], `${theme} ${tab} contrast`);
        await page.screenshot({ path: resultsPath(`${tab}-${theme}.png`), fullPage: true });
      }
      await page.click('#tab-alerts');
      await page.locator('[data-alert-id="3"] [data-action="disable-key"]').click();
      await page.locator('#disable-dialog').waitFor();
      assert.deepEqual(await lowContrastText(page), [], `${theme} dialog contrast`);
      await page.screenshot({ path: resultsPath(`disable-dialog-${theme}.png`) });
      await page.keyboard.press('Escape');
      await eventually(async () => (await page.locator('#disable-dialog').count()) === 0);
    }
  });
});
