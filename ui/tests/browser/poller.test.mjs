// Background polling in the UI: sync progress bars, per-source poller status, pausing, plus
// the provider notes/settings and the reconciliation of billed against estimated spend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FakeBackend,
  eventually,
  lowContrastText,
  reject,
  resultsPath,
  sourceView,
  useBrowserApp,
  openAddSource,
} from './harness.mjs';

const FAKE_KEY = 'sk-FAKE-poller-test-0000';
/** The page's clock in tests that install one (en-US, UTC). */
const NOW = '2026-01-14T09:00:00Z';

const openPage = useBrowserApp();

async function open(backend, options) {
  const opened = await openPage(backend, options);
  return opened;
}

const emit = (page, event, payload) => page.evaluate(([e, p]) => window.__emitEvent(e, p), [event, payload]);
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? null);

/** Source rows start collapsed: opens a row's details with its disclosure button. */
async function expand(row) {
  const toggle = row.locator('[data-action="toggle-details"]');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await row.locator(`#${await toggle.getAttribute('aria-controls')}`).waitFor();
}

function ok(source, rows = 5) {
  return { source, ok: true, rows_written: rows, from: '2025-12-16', to: '2026-01-14', error: null };
}

const RECONCILE = [
  { day: '2026-01-14', source: 'team-anthropic', currency: 'USD', billed: '10.000000', estimated: '9.250000', difference: '0.750000' },
  { day: '2026-01-13', source: 'team-anthropic', currency: 'USD', billed: '4.000000', estimated: '4.500000', difference: '-0.500000' },
  { day: '2026-01-13', source: 'relay', currency: 'EUR', billed: '2.000000', estimated: '2.000000', difference: '0.000000' },
];

function backendWithStatus() {
  return new FakeBackend({
    sources: [
      sourceView({
        id: 1,
        name: 'work-openai',
        last_sync: { finished_at: '2026-01-14T08:30:00Z', ok: true, rows_written: 42, error: null },
      }),
      sourceView({
        id: 2,
        name: 'personal-openrouter',
        provider: 'openrouter',
        base_url: 'https://openrouter.ai/api/v1',
        key_fingerprint: 'sk-…7a21',
        last_sync: {
          finished_at: '2026-01-14T08:45:00Z',
          ok: false,
          rows_written: 0,
          error: { code: 'rate_limited', message: 'OpenRouter asked Burnrate to slow down (HTTP 429).' },
        },
      }),
      sourceView({ id: 3, name: 'team-anthropic', provider: 'anthropic', base_url: 'https://api.anthropic.com' }),
      sourceView({
        id: 4,
        name: 'relay',
        provider: 'custom-json',
        base_url: 'https://relay.example/api/balance',
        settings: { pointer: '/data/balance', currency: 'EUR' },
        last_sync: { finished_at: '2026-01-14T08:50:00Z', ok: true, rows_written: 1, error: null },
      }),
    ],
    statuses: [
      { source: 'work-openai', state: 'scheduled', last_success_at: '2026-01-14T08:30:00Z', next_poll_at: '2026-01-14T09:12:00Z', last_error: null, consecutive_failures: 0 },
      {
        source: 'personal-openrouter',
        state: 'backing_off',
        last_success_at: null,
        next_poll_at: '2026-01-14T11:05:00Z',
        last_error: { code: 'timeout', message: 'OpenRouter did not answer within 30 s.' },
        consecutive_failures: 3,
      },
      { source: 'team-anthropic', state: 'scheduled', last_success_at: null, next_poll_at: null, last_error: null, consecutive_failures: 0 },
      { source: 'relay', state: 'scheduled', last_success_at: '2026-01-14T08:50:00Z', next_poll_at: '2026-01-15T09:00:00Z', last_error: null, consecutive_failures: 0 },
    ],
    report: [
      { day: '2026-01-14', source: 'team-anthropic', provider: null, key_id: null, key_name: null, model: null, currency: 'USD', amount: '10.000000', kind: 'billed' },
      { day: '2026-01-14', source: 'work-openai', provider: null, key_id: null, key_name: null, model: null, currency: 'USD', amount: '3.210000', kind: 'estimated' },
    ],
    reconcile: RECONCILE,
  });
}

describe('sync progress', () => {
  test('a sync-progress event shows a labelled bar that updates and goes on sync-finished', async () => {
    const backend = backendWithStatus();
    const { page } = await open(backend);
    const card = page.locator('[data-source-name="work-openai"]');
    await card.waitFor();
    assert.equal(await page.locator('progress').count(), 0, 'no bar while nothing runs');
    assert.equal(await card.locator('[data-action="toggle-details"]').getAttribute('aria-expanded'), 'false');

    // A background poll (not started here) reports progress.
    await emit(page, 'sync-progress', { source: 'work-openai', done: 3, total: 10, unit: 'pages' });
    const bar = page.locator('#sync-progress-work-openai');
    await bar.waitFor();
    assert.equal(await page.locator('[data-progress-source="work-openai"]').count(), 1);
    assert.deepEqual(await bar.evaluate((el) => [el.value, el.max, el.position]), [3, 10, 0.3]);
    assert.equal(await bar.evaluate((el) => el.labels[0]?.textContent.trim()), 'Syncing history');
    const described = await bar.getAttribute('aria-describedby');
    assert.equal(await text(page.locator(`#${described}`)), '3/10 pages');
    // Seen without opening the row: the bar and the row's status.
    assert.ok(await bar.isVisible(), 'the bar shows in the collapsed row');
    assert.equal(await text(card.locator('[data-field="sync-summary"]')), 'syncing…');
    assert.equal(await card.locator('[data-field="sync-summary"] [role="img"]').getAttribute('aria-label'), 'Status: syncing');
    await expand(card);
    assert.equal(await text(card.locator('[data-field="poll-state"] .badge')), 'syncing');
    assert.equal(await text(card.locator('[data-field="next-poll"]')), 'now');
    // Other sources are untouched.
    assert.equal(await page.locator('[data-source-name="relay"] progress').count(), 0);

    await emit(page, 'sync-progress', { source: 'work-openai', done: 7, total: 10, unit: 'pages' });
    await eventually(async () => (await bar.evaluate((el) => el.value)) === 7);
    assert.equal(await text(page.locator(`#${described}`)), '7/10 pages');

    const statusReads = backend.callsTo('poller_status').length;
    await emit(page, 'sync-finished', [ok('work-openai')]);
    await eventually(async () => (await page.locator('[data-progress-source="work-openai"]').count()) === 0);
    await eventually(() => backend.callsTo('poller_status').length > statusReads);
    assert.equal(await text(card.locator('[data-field="poll-state"] .badge')), 'scheduled');
  });

  test('progress of a manual sync shows while it runs and is cleared when sync_now answers', async () => {
    const backend = backendWithStatus();
    let finish;
    backend.on('sync_now', () => new Promise((resolve) => (finish = () => resolve([ok('relay')]))));
    const { page } = await open(backend);
    const card = page.locator('[data-source-name="relay"]');
    await card.waitFor();

    await card.locator('[data-action="sync"]').click();
    await eventually(() => finish);
    // Unknown total: an indeterminate bar with the count so far.
    await emit(page, 'sync-progress', { source: 'relay', done: 2, total: 0, unit: 'days' });
    const bar = page.locator('#sync-progress-relay');
    await bar.waitFor();
    assert.ok(await bar.isVisible(), 'the bar shows in the collapsed row');
    assert.equal(await bar.evaluate((el) => el.position), -1, 'indeterminate');
    assert.match(await text(card.locator('.progress')), /Syncing history 2 days/);

    finish();
    await page.locator('#sync-results [data-sync-source="relay"]').waitFor();
    await eventually(async () => (await bar.count()) === 0);
  });
});

describe('poller status', () => {
  test('each source shows its state, next poll, failures and last error; refreshed every 30 s', async () => {
    const backend = backendWithStatus();
    const { page } = await open(backend, { clock: { time: new Date(NOW) } });
    const work = page.locator('[data-source-name="work-openai"]');
    await work.waitFor();
    for (const name of ['work-openai', 'personal-openrouter', 'team-anthropic', 'relay']) {
      await expand(page.locator(`[data-source-name="${name}"]`));
    }
    await eventually(async () => (await text(work.locator('[data-field="next-poll"]'))) === 'in 12 min (9:12 AM)');
    assert.equal(await work.locator('[data-field="next-poll"] time').getAttribute('datetime'), '2026-01-14T09:12:00Z');
    assert.equal(await text(work.locator('[data-field="poll-state"]')), 'scheduled');
    assert.equal(await work.locator('[data-field="poll-state"]').getAttribute('aria-live'), 'polite');
    // The last sync field keeps working next to the new ones.
    assert.match(await text(work.locator('[data-field="last-sync"]')), /ok 42 rows/);

    const failing = page.locator('[data-source-name="personal-openrouter"]');
    assert.equal(await text(failing.locator('[data-field="next-poll"]')), 'in 2 h 5 min (11:05 AM)');
    const state = await text(failing.locator('[data-field="poll-state"]'));
    assert.match(state, /^backing off 3 failures in a row Last error: OpenRouter did not answer within 30 s\. \(timeout\)$/);
    assert.equal(await failing.locator('[data-field="poll-state"] [data-state]').getAttribute('data-state'), 'backing_off');
    assert.equal(await failing.locator('[data-field="last-error"]').getAttribute('data-code'), 'timeout');
    assert.match(await text(failing.locator('[data-field="last-sync"]')), /failed .*HTTP 429.*rate_limited/);

    assert.equal(await text(page.locator('[data-source-name="team-anthropic"] [data-field="next-poll"]')), 'not scheduled yet');
    assert.match(await text(page.locator('[data-source-name="relay"] [data-field="next-poll"]')), /^in 1 day \(Jan 15, 2026, 9:00 AM\)$/);

    // The poller announces a change and the view follows it, without asking on a timer.
    const reads = backend.callsTo('poller_status').length;
    await page.clock.fastForward(30_000);
    assert.equal(backend.callsTo('poller_status').length, reads, 'an idle window asks the core nothing');
    const statuses = backend.statuses.map((s) =>
      s.source === 'personal-openrouter'
        ? { ...s, state: 'scheduled', consecutive_failures: 0, last_error: null, next_poll_at: '2026-01-14T10:00:00Z' }
        : s,
    );
    await emit(page, 'poller-status', statuses);
    await eventually(async () => (await text(failing.locator('[data-field="poll-state"]'))) === 'scheduled');
    assert.equal(await failing.locator('[data-field="last-error"]').count(), 0);
    assert.equal(await text(failing.locator('[data-field="next-poll"]')), 'in 59 min (10:00 AM)');
    assert.equal(await text(work.locator('[data-field="next-poll"]')), 'in 11 min (9:12 AM)');
    // Relative times move on with the clock alone, still without asking the core.
    await page.clock.fastForward(2 * 60_000);
    await eventually(async () => (await text(work.locator('[data-field="next-poll"]'))) === 'in 9 min (9:12 AM)');
    assert.equal(await text(failing.locator('[data-field="next-poll"]')), 'in 57 min (10:00 AM)');
    assert.equal(backend.callsTo('poller_status').length, reads);
  });

  test('the same error as the last sync is referred to by its code only', async () => {
    const backend = backendWithStatus();
    backend.statuses = [
      {
        source: 'personal-openrouter',
        state: 'backing_off',
        last_success_at: null,
        next_poll_at: null,
        last_error: { code: 'rate_limited', message: 'OpenRouter asked Burnrate to slow down (HTTP 429).' },
        consecutive_failures: 1,
      },
    ];
    const { page } = await open(backend);
    await page.locator('[data-source-name="personal-openrouter"]').waitFor();
    await expand(page.locator('[data-source-name="personal-openrouter"]'));
    await expand(page.locator('[data-source-name="work-openai"]'));
    const state = page.locator('[data-source-name="personal-openrouter"] [data-field="poll-state"]');
    await eventually(async () => /backing off/.test(await text(state)));
    assert.equal(await text(state), 'backing off 1 failure Last error: (rate_limited)');
    // A source the poller does not know yet shows a dash, not a guess.
    assert.equal(await text(page.locator('[data-source-name="work-openai"] [data-field="poll-state"]')), '—');
  });
});

describe('pausing background polling', () => {
  test('the toggle pauses and resumes; Sync now still works while paused', async () => {
    const backend = backendWithStatus();
    backend.statuses = null; // derived from the sources and the paused flag
    backend.on('sync_now', ({ source }) => [ok(source)]);
    const { page } = await open(backend);
    const toggle = page.locator('#polling-toggle');
    await toggle.waitFor();
    assert.equal(await text(toggle), 'Pause background sync');
    assert.equal(await toggle.getAttribute('data-paused'), 'false');
    assert.match(await text(page.locator('#polling-hint')), /background on a schedule/);
    // It sits next to Sync all.
    assert.equal(await page.evaluate(() => document.getElementById('polling-toggle').nextElementSibling?.id), 'show-add-source');
    assert.equal(await page.evaluate(() => document.getElementById('show-add-source').nextElementSibling?.id), 'sync-all');

    // Keyboard: focus it and press Enter.
    await toggle.focus();
    await page.keyboard.press('Enter');
    await eventually(async () => (await toggle.getAttribute('data-paused')) === 'true');
    assert.deepEqual(backend.callsTo('set_polling_paused'), [{ paused: true }]);
    assert.equal(await text(toggle), 'Resume background sync');
    assert.match(await text(page.locator('#polling-hint')), /paused: sources sync only when you press Sync now or Sync all/);
    assert.match(await text(page.locator('#status')), /Background sync paused\. Sync now and Sync all still work\./);
    const work = page.locator('[data-source-name="work-openai"]');
    await eventually(async () => (await work.locator('[data-field="sync-summary"] [role="img"]').getAttribute('aria-label')) === 'Status: paused');
    assert.match(await text(work.locator('[data-field="sync-summary"]')), /^paused · /);
    await expand(work);
    await eventually(async () => (await text(work.locator('[data-field="poll-state"]'))) === 'paused');
    assert.match(await text(work.locator('[data-field="next-poll"]')), /paused/);

    await work.locator('[data-action="sync"]').click();
    await page.locator('#sync-results [data-sync-source="work-openai"]').waitFor();
    assert.deepEqual(backend.callsTo('sync_now'), [{ source: 'work-openai' }]);
    assert.equal(await toggle.getAttribute('data-paused'), 'true', 'a manual sync does not resume polling');

    await toggle.click();
    await eventually(async () => (await toggle.getAttribute('data-paused')) === 'false');
    assert.deepEqual(backend.callsTo('set_polling_paused'), [{ paused: true }, { paused: false }]);
    assert.equal(await text(toggle), 'Pause background sync');
    assert.match(await text(page.locator('#status')), /Background sync resumed/);
    await eventually(async () => (await text(work.locator('[data-field="poll-state"]'))) === 'scheduled');
  });

  test('a poller that is already paused shows Resume; a refused toggle reports its code', async () => {
    const backend = backendWithStatus();
    backend.statuses = null;
    backend.paused = true;
    backend.on('set_polling_paused', () => reject('internal', 'The poller has stopped.'));
    const { page } = await open(backend);
    const toggle = page.locator('#polling-toggle');
    await eventually(async () => (await toggle.getAttribute('data-paused')) === 'true');
    assert.equal(await text(toggle), 'Resume background sync');
    await toggle.click();
    const alert = page.locator('#action-error[role="alert"]');
    await alert.waitFor();
    assert.equal(await alert.getAttribute('data-code'), 'internal');
    assert.equal(await toggle.getAttribute('data-paused'), 'true', 'unchanged when the backend refused');
    assert.match(await text(page.locator('#status')), /Could not resume background sync/);
  });
});

describe('provider notes and settings', () => {
  test('the Anthropic note shows in the form and on the source card', async () => {
    const { page } = await open(backendWithStatus());
    await openAddSource(page);
    await page.selectOption('#source-provider', 'anthropic');
    const note = page.locator('#provider-note');
    await note.waitFor();
    assert.match(await text(note), /Note: Anthropic bills per workspace, not per key: amounts per key are estimates/);
    assert.equal(await note.getAttribute('data-field'), 'provider-note');
    // Part of the provider select's description.
    assert.match(await page.getAttribute('#source-provider', 'aria-describedby'), /provider-help/);
    await page.selectOption('#source-provider', 'openrouter');
    assert.equal(await note.count(), 0, 'no note for a provider without one');

    await expand(page.locator('[data-source-name="team-anthropic"]'));
    const card = page.locator('[data-source-name="team-anthropic"] [data-field="provider-note"]');
    assert.match(await text(card), /amounts per key are estimates from tokens × list price/);
    assert.equal(await page.locator('[data-source-name="personal-openrouter"] [data-field="provider-note"]').count(), 0);
  });

  test('custom JSON settings render, a missing required one blocks submit, filled ones are sent', async () => {
    const backend = new FakeBackend();
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();
    assert.equal(await page.locator('#provider-settings').count(), 0, 'OpenAI takes no settings');

    await page.selectOption('#source-provider', 'custom-json');
    await page.locator('#provider-settings').waitFor();
    const ids = await page.locator('#provider-settings input').evaluateAll((els) => els.map((e) => e.id));
    assert.deepEqual(ids, ['setting-pointer', 'setting-meaning', 'setting-divisor', 'setting-currency', 'setting-header', 'setting-prefix']);
    assert.match(await text(page.locator('label[for="setting-pointer"]')), /JSON pointer \(required\)/);
    assert.equal(await page.getAttribute('#setting-pointer', 'aria-required'), 'true');
    assert.match(await text(page.locator('label[for="setting-divisor"]')), /Unit divisor \(optional\)/);
    assert.equal(await page.getAttribute('#setting-divisor', 'aria-required'), null);
    assert.equal(await page.getAttribute('#setting-currency', 'placeholder'), 'USD');
    assert.equal(await page.getAttribute('#setting-prefix', 'placeholder'), '');
    assert.equal(await text(page.locator('#setting-divisor-help')), 'The amount is divided by this, e.g. 100 for cents; default 1.');
    assert.match(await page.getAttribute('#setting-pointer', 'aria-describedby'), /setting-pointer-help/);
    assert.match(await text(page.locator('#provider-note')), /derived from the change between syncs/);

    await page.fill('#source-name', 'relay');
    await page.fill('#source-base-url', 'https://relay.example/api/balance');
    await page.fill('#setting-divisor', ' 100 ');
    await page.fill('#source-key', FAKE_KEY);
    await page.click('#add-source-submit');
    const error = page.locator('#setting-pointer-error');
    await error.waitFor();
    assert.equal(await text(error), 'JSON pointer is required for Custom JSON endpoint.');
    assert.equal(await focusedId(page), 'setting-pointer');
    assert.equal(await page.getAttribute('#setting-pointer', 'aria-invalid'), 'true');
    assert.match(await page.getAttribute('#setting-pointer', 'aria-describedby'), /setting-pointer-error/);
    assert.deepEqual(backend.callsTo('add_source'), [], 'nothing sent');

    await page.keyboard.type('/data/balance');
    await page.click('#add-source-submit');
    const card = page.locator('[data-source-name="relay"]');
    await card.waitFor();
    await expand(card);
    assert.deepEqual(backend.callsTo('add_source'), [
      {
        request: {
          provider: 'custom-json',
          name: 'relay',
          base_url: 'https://relay.example/api/balance',
          key: { kind: 'secret', value: FAKE_KEY },
          settings: { pointer: '/data/balance', divisor: '100' },
        },
      },
    ]);
    // Settings are not secret: the card lists them by label.
    assert.equal(await text(card.locator('[data-field="settings"] [data-setting="pointer"]')), 'JSON pointer: /data/balance');
    assert.equal(await text(card.locator('[data-field="settings"] [data-setting="divisor"]')), 'Unit divisor: 100');
    assert.equal(await page.locator('#add-source-form').count(), 0, 'the form made way for the figures');
    await openAddSource(page);
    await page.selectOption('#source-provider', 'custom-json');
    assert.equal(await page.inputValue('#setting-divisor'), '', 'a new form is clear');
  });

  test('a provider with settings but none filled sends no settings', async () => {
    const backend = new FakeBackend({
      providers: [
        {
          id: 'new-api',
          label: 'new-api / one-api relay',
          default_base_url: null,
          key_kind: 'Access token of your relay account',
          key_help: "your relay's dashboard → Personal settings → System access token",
          can_sync: true,
          settings: [
            { key: 'quota_per_usd', label: 'Quota units per USD', help: 'how many quota units the relay counts as one US dollar', kind: 'decimal', required: false, default: '500000' },
            { key: 'user_id', label: 'User id', help: 'your numeric user id on the relay', kind: 'text', required: false, default: null },
          ],
          note: null,
        },
      ],
    });
    const { page } = await open(backend);
    await page.locator('#setting-quota_per_usd').waitFor();
    await page.fill('#source-name', 'relay');
    await page.fill('#source-base-url', 'https://relay.example');
    await page.fill('#source-key', FAKE_KEY);
    await page.click('#add-source-submit');
    await page.locator('[data-source-name="relay"]').waitFor();
    const [{ request }] = backend.callsTo('add_source');
    assert.equal('settings' in request, false);
    assert.equal(await page.locator('[data-source-name="relay"] [data-field="settings"]').count(), 0);
  });
});

describe('estimated vs billed', () => {
  test('the legend explains the kinds; the reconciliation table renders billed, estimated and difference', async () => {
    const backend = backendWithStatus();
    const { page } = await open(backend);
    const legend = page.locator('#spend-legend');
    await legend.waitFor();
    assert.match(await text(legend), /billed what the provider charged/);
    assert.match(await text(legend), /estimated tokens × list price/);

    const table = page.locator('#reconciliation');
    await table.waitFor();
    assert.deepEqual(backend.callsTo('reconcile')[0], { query: { by: [], from: null, to: null } });
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 3);
    assert.equal(await text(rows.nth(0)), '2026-01-14 team-anthropic USD 10.00 USD 9.25 +USD 0.75');
    assert.equal(await text(rows.nth(1)), '2026-01-13 team-anthropic USD 4.00 USD 4.50 -USD 0.50');
    assert.equal(await text(rows.nth(2)), '2026-01-13 relay EUR 2.00 EUR 2.00 EUR 0.00');
    assert.equal(await rows.nth(1).locator('[data-field="difference"]').getAttribute('data-amount'), '-0.500000');
    assert.deepEqual(
      await table.locator('thead th').evaluateAll((ths) => ths.map((th) => th.textContent.trim())),
      ['Day', 'Source', 'Billed', 'Estimated', 'Difference'],
    );

    // Refreshed with the report after a sync; gone when nothing reconciles any more.
    backend.reconcileRows = [];
    await emit(page, 'sync-finished', []);
    await eventually(async () => (await page.locator('#reconciliation-section').count()) === 0);
  });

  test('no reconciliation section when no day has both kinds', async () => {
    const backend = backendWithStatus();
    backend.reconcileRows = [];
    const { page } = await open(backend);
    await page.locator('#daily-spend').waitFor();
    await eventually(() => backend.callsTo('reconcile').length > 0);
    assert.equal(await page.locator('#reconciliation-section').count(), 0);
  });
});

test('screenshots of the populated page with progress, status and reconciliation, light and dark', async () => {
  const backend = backendWithStatus();
  const { page } = await open(backend, { clock: { time: new Date(NOW) } });
  await page.locator('#reconciliation').waitFor();
  await emit(page, 'sync-progress', { source: 'work-openai', done: 4, total: 10, unit: 'pages' });
  await page.locator('#sync-progress-work-openai').waitFor();
  await expand(page.locator('[data-source-name="personal-openrouter"]'));
  await openAddSource(page);
  await page.selectOption('#source-provider', 'custom-json');
  await page.click('#add-source-submit');
  await page.locator('#setting-pointer-error').waitFor();
  await page.mouse.click(5, 5);

  assert.deepEqual(await lowContrastText(page), [], 'light theme contrast');
  await page.screenshot({ path: resultsPath('poller-light.png'), fullPage: true });
  await page.click('label[for="theme-dark"]');
  await page.mouse.click(5, 5);
  assert.deepEqual(await lowContrastText(page), [], 'dark theme contrast');
  await page.screenshot({ path: resultsPath('poller-dark.png'), fullPage: true });
});
