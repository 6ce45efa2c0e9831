// Alert channels in the Settings tab, and where each alert went in the history: adding a
// channel of each shape (the request the core receives), a test alert and its result, removal,
// refusals next to the field, and the card at the window's minimum size in both themes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FakeBackend,
  alertView,
  channelView,
  eventually,
  keyReportRow,
  lowContrastText,
  reject,
  resultsPath,
  sourceView,
  useBrowserApp,
} from './harness.mjs';

const open = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const SLACK_URL = 'https://hooks.slack.com/services/T000/B000/SECRETTOKENxyz';

async function openSettings(backend, options) {
  const opened = await open(backend, options);
  await opened.page.click('#tab-settings');
  await opened.page.locator('#channels-section').waitFor();
  return opened;
}

describe('adding a channel', () => {
  test('the empty list says what channels are for; a Slack URL goes to the core once and is cleared', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work' })] });
    const { page } = await openSettings(backend);
    await page.locator('#channels-empty').waitFor();
    assert.match(await text(page.locator('#channels-empty')), /reach only this desktop.*Add a channel below/);

    await page.selectOption('#channel-kind', 'slack');
    await page.fill('#channel-name', 'team-slack');
    await page.fill('#channel-secret', SLACK_URL);
    await page.click('#add-channel-submit');

    const item = page.locator('[data-channel="team-slack"]');
    await item.waitFor();
    assert.deepEqual(backend.callsTo('add_channel'), [
      { request: { kind: 'slack', name: 'team-slack', quiet_hours: false, secret: { kind: 'secret', value: SLACK_URL } } },
    ]);
    assert.equal(await page.inputValue('#channel-secret'), '', 'the URL is not kept in the form');
    assert.equal(await text(item.locator('[data-field="target"]')), 'https://hooks.slack.com/…');
    assert.equal(await text(item.locator('[data-field="secret"]')), 'URL in the OS secret store');
    assert.equal(await text(item.locator('[data-field="kinds"]')), 'All alerts');
    assert.match(await text(page.locator('#status')), /Added the Slack channel team-slack/);
    const html = await page.content();
    assert.ok(!html.includes('SECRETTOKEN'), 'the token appears nowhere in the page');
  });

  test('e-mail with a login from an environment variable, a subset of alerts and quiet hours', async () => {
    const backend = new FakeBackend();
    const { page } = await openSettings(backend);
    await page.selectOption('#channel-kind', 'email');
    assert.equal(await page.locator('#channel-secret').count(), 0, 'no password field without a login');
    await page.fill('#channel-name', 'ops mail');
    await page.fill('#channel-smtp-host', 'smtp.example.com');
    await page.fill('#channel-from', 'burnrate@example.com');
    await page.fill('#channel-to', 'a@example.com, b@example.com');
    await page.fill('#channel-smtp-user', 'burnrate');
    await page.check('#channel-secret-mode-env');
    await page.fill('#channel-secret-env', 'SMTP_PASSWORD');
    await page.uncheck('#channel-all-kinds');
    await page.uncheck('[data-alert-kind="price_drift"]');
    await page.uncheck('[data-alert-kind="terms_changed"]');
    await page.uncheck('[data-alert-kind="forecast"]');
    await page.uncheck('[data-alert-kind="source_stale"]');
    await page.check('#channel-quiet-hours');
    await page.click('#add-channel-submit');
    await page.locator('[data-channel="ops mail"]').waitFor();
    assert.deepEqual(backend.callsTo('add_channel')[0].request, {
      kind: 'email',
      name: 'ops mail',
      quiet_hours: true,
      secret: { kind: 'env', var: 'SMTP_PASSWORD' },
      alert_kinds: ['threshold', 'spike'],
      email: { host: 'smtp.example.com', tls: 'starttls', from: 'burnrate@example.com', to: ['a@example.com', 'b@example.com'], username: 'burnrate' },
    });
    const item = page.locator('[data-channel="ops mail"]');
    assert.equal(await text(item.locator('[data-field="secret"]')), 'SMTP password read from $SMTP_PASSWORD');
    assert.equal(await text(item.locator('[data-field="kinds"]')), 'threshold, spike');
    assert.match(await text(item.locator('[data-field="quiet-hours"]')), /Held back during quiet hours/);
  });

  test('mistakes are named next to their fields, focus goes to the first, and nothing is sent', async () => {
    const backend = new FakeBackend();
    const { page } = await openSettings(backend);
    await page.selectOption('#channel-kind', 'exec');
    await page.fill('#channel-timeout', '9000');
    await page.click('#add-channel-submit');
    await page.locator('#channel-name-error').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'channel-name');
    assert.match(await text(page.locator('#channel-command-error')), /command to run/);
    assert.match(await text(page.locator('#channel-timeout-error')), /1 to 600/);
    assert.equal(await page.getAttribute('#channel-timeout', 'aria-invalid'), 'true');
    assert.deepEqual(backend.callsTo('add_channel'), []);

    await page.fill('#channel-name', 'pager');
    await page.fill('#channel-command', '/usr/local/bin/page-me');
    await page.fill('#channel-timeout', '');
    await page.click('#add-channel-submit');
    await page.locator('[data-channel="pager"]').waitFor();
    assert.deepEqual(backend.callsTo('add_channel')[0].request.exec, { command: '/usr/local/bin/page-me' });
  });

  test('a refusal by the core keeps everything as typed and says why', async () => {
    const backend = new FakeBackend({ channels: [channelView({ name: 'oncall', kind: 'webhook', target: 'https://hooks.example.com/…' })] });
    const { page } = await openSettings(backend);
    await page.locator('[data-channel="oncall"]').waitFor();
    await page.fill('#channel-name', 'oncall');
    await page.fill('#channel-secret', 'https://hooks.example.com/a/b');
    await page.click('#add-channel-submit');
    const error = page.locator('#channel-form-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'channel_exists');
    assert.match(await text(error), /already exists.*Nothing was saved/);
    assert.equal(await page.inputValue('#channel-name'), 'oncall');
    assert.equal(await page.inputValue('#channel-secret'), 'https://hooks.example.com/a/b');
  });
});

describe('a channel in the list', () => {
  test('a test alert shows its result under the channel; a failure shows the reason and the last error', async () => {
    const backend = new FakeBackend({
      channels: [channelView({ name: 'phone', kind: 'ntfy', target: 'https://ntfy.sh/…', pending: 2, failed: 1 })],
    });
    backend.channelTests.set('phone', { ok: false, detail: 'HTTP 403 from ntfy.sh: the topic is reserved; check the URL' });
    const { page } = await openSettings(backend);
    const item = page.locator('[data-channel="phone"]');
    await item.waitFor();
    assert.equal(await text(item.locator('[data-field="pending"]')), '2 waiting');
    assert.equal(await text(item.locator('[data-field="failed"]')), '1 undelivered');

    await item.locator('[data-action="test-channel"]').click();
    const result = item.locator('[data-field="test-result"]');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'false');
    assert.match(await text(result), /^Test alert not delivered: HTTP 403 from ntfy.sh/);
    await eventually(async () => /HTTP 403/.test(await text(item.locator('[data-field="last-error"]'))));
    assert.deepEqual(backend.callsTo('test_channel'), [{ name: 'phone' }]);

    backend.channelTests.set('phone', { ok: true, detail: 'HTTP 200' });
    await item.locator('[data-action="test-channel"]').click();
    await eventually(async () => (await result.getAttribute('data-ok')) === 'true');
    assert.match(await text(result), /^Test alert delivered: HTTP 200/);
    await eventually(async () => (await item.locator('[data-field="last-error"]').count()) === 0);
  });

  test('Remove asks first, then removes; a refusal leaves it listed', async () => {
    const backend = new FakeBackend({ channels: [channelView({ name: 'team-slack' }), channelView({ name: 'oncall', kind: 'webhook' })] });
    const { page } = await openSettings(backend);
    const item = page.locator('[data-channel="team-slack"]');
    await item.locator('[data-action="remove-channel"]').click();
    assert.match(await text(item), /Its stored secret and its waiting deliveries go with it/);
    await page.keyboard.press('Escape');
    await eventually(async () => (await page.evaluate(() => document.activeElement?.dataset.action)) === 'remove-channel');
    assert.deepEqual(backend.callsTo('remove_channel'), []);

    backend.on('remove_channel', () => reject('storage_unavailable', 'The ledger is read-only.'));
    await item.locator('[data-action="remove-channel"]').click();
    await item.locator('[data-action="confirm-remove-channel"]').click();
    await eventually(async () => /read-only/.test(await text(page.locator('#status'))));
    assert.equal(await page.locator('[data-channel]').count(), 2);

    backend.overrides.delete('remove_channel');
    await item.locator('[data-action="confirm-remove-channel"]').click();
    await item.waitFor({ state: 'detached' });
    assert.deepEqual(backend.callsTo('remove_channel').at(-1), { name: 'team-slack' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'channels-title');
    assert.equal(await page.locator('[data-channel="oncall"]').count(), 1);
  });
});

describe('the alert history', () => {
  test('each alert shows where it went: delivered, waiting with the reason, given up, announced again', async () => {
    const deliveries = [
      { channel: 'oncall', round: 0, state: 'delivered', attempts: 1, delivered_at: '2026-01-14T08:40:02Z', next_attempt_at: null, last_error: null },
      { channel: 'phone', round: 0, state: 'pending', attempts: 2, delivered_at: null, next_attempt_at: '2026-01-14T08:42:00Z', last_error: 'HTTP 503 from ntfy.sh' },
      { channel: 'mail', round: 0, state: 'failed', attempts: 14, delivered_at: null, next_attempt_at: null, last_error: 'SMTP 535: login refused; check the password' },
      { channel: 'oncall', round: 1, state: 'delivered', attempts: 1, delivered_at: '2026-01-14T10:40:02Z', next_attempt_at: null, last_error: null },
    ];
    const backend = new FakeBackend({
      sources: [sourceView({ name: 'work-openai' })],
      alerts: [alertView({ id: 7, deliveries }), alertView({ id: 6, title: 'Quiet one' })],
    });
    const { page } = await open(backend);
    await page.click('#tab-alerts');
    const list = page.locator('[data-alert-id="7"] [data-field="deliveries"]');
    await list.waitFor();
    const rows = await list.locator('li').evaluateAll((items) => items.map((li) => [li.dataset.channel, li.dataset.round, li.dataset.state]));
    assert.deepEqual(rows, [
      ['oncall', '0', 'delivered'],
      ['phone', '0', 'pending'],
      ['mail', '0', 'failed'],
      ['oncall', '1', 'delivered'],
    ]);
    assert.match(await text(list.locator('[data-state="pending"]')), /^phone: waiting, 2 attempts so far; next try .+ — HTTP 503 from ntfy.sh$/);
    assert.match(await text(list.locator('[data-state="failed"]')), /^mail: gave up after 14 attempts — SMTP 535/);
    assert.match(await text(list.locator('[data-round="1"]')), /^oncall \(announced again, #2\): delivered/);
    assert.equal(await page.locator('[data-alert-id="6"] [data-field="deliveries"]').count(), 0, 'no channels: no list');
  });
});

test('at 640×480 in both themes the channels card fits, reads, and works from the keyboard', async () => {
  const backend = new FakeBackend({
    channels: [
      channelView({ name: 'a-channel-with-a-rather-long-name-for-testing', kind: 'webhook', target: 'https://very-long-hostname.internal.example.com:8443/…', last_error: 'HTTP 503 from very-long-hostname.internal.example.com: Service Unavailable; retrying', last_attempt_at: '2026-01-14T08:40:00Z', pending: 3, failed: 1 }),
    ],
  });
  const { page } = await openSettings(backend);
  await page.setViewportSize({ width: 640, height: 480 });
  await page.locator('[data-channel]').waitFor();
  await page.click('#add-channel-submit');
  await page.locator('#channel-name-error').waitFor();
  for (const theme of ['light', 'dark']) {
    await page.click(`label[for="theme-${theme}"]`);
    await page.mouse.click(5, 5);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, `${theme}: no sideways scrolling`);
    assert.deepEqual(await lowContrastText(page), [], `${theme} contrast`);
    await page.locator('#channels-section').screenshot({ path: resultsPath(`channels-640-${theme}.png`) });
  }
  // Keyboard only: kind, name and secret are reachable in order.
  await page.focus('#channel-kind');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'channel-name');
  await page.keyboard.type('kb');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'channel-secret-mode-secret');
});

describe('switching a leaking key off automatically', () => {
    test('only sources that can switch a key back on are offered; a dry run is the default; rules are listed and removed', async () => {
    const backend = new FakeBackend({
      sources: [sourceView({ id: 1, name: 'work-openai', provider: 'openai' }), sourceView({ id: 2, name: 'router', provider: 'openrouter' })],
      keyReport: [keyReportRow('router', 'hash_batch', 'Batch job'), keyReportRow('work-openai', 'key_prod', 'Production')],
    });
    const { page } = await openSettings(backend);
    const section = page.locator('#auto-disable-section');
    await section.waitFor();
    assert.deepEqual(await page.locator('#auto-disable-source option').evaluateAll((os) => os.map((o) => o.value)), ['router'], 'OpenAI is never offered');
    await eventually(async () => (await page.locator('#auto-disable-key option').count()) === 2);
    assert.deepEqual(await page.locator('#auto-disable-key option').evaluateAll((os) => os.map((o) => o.textContent.trim())), ['Every key of the source', 'Batch job']);
    assert.equal(await page.isChecked('#auto-disable-dry-run'), true, 'dry run first');

    await page.selectOption('#auto-disable-key', 'hash_batch');
    await page.uncheck('#auto-disable-spike');
    await page.uncheck('#auto-disable-budget');
    await page.click('#auto-disable-submit');
    await page.locator('#auto-disable-triggers-error').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'auto-disable-spike');
    assert.deepEqual(backend.callsTo('add_auto_disable'), []);

    await page.check('#auto-disable-budget');
    await page.fill('#auto-disable-cooldown', '12');
    await page.click('#auto-disable-submit');
    const rule = section.locator('[data-rule-id]');
    await rule.waitFor();
    assert.deepEqual(backend.callsTo('add_auto_disable'), [
      { request: { source: 'router', on: ['budget'], dry_run: true, cooldown_hours: 12, key_id: 'hash_batch' } },
    ]);
    assert.match(await text(rule.locator('[data-field="summary"]')), /^dry run key Batch job of router on its budget at 100 %; then 12 h quiet on that key\.$/);
    assert.match(await text(page.locator('#status')), /Added a dry-run rule for key Batch job of router/);

    await rule.locator('[data-action="remove-rule"]').click();
    await rule.locator('[data-action="confirm-remove-rule"]').click();
    await rule.waitFor({ state: 'detached' });
    assert.equal(backend.callsTo('remove_auto_disable').length, 1);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'auto-disable-title');
  });

  test('without an eligible source it says which providers can', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work-openai', provider: 'openai' })] });
    const { page } = await openSettings(backend);
    await page.locator('#auto-disable-no-source').waitFor();
    assert.match(await text(page.locator('#auto-disable-no-source')), /OpenRouter source with a management key, a LiteLLM proxy or Anthropic/);
    assert.equal(await page.locator('#auto-disable-form').count(), 0);
  });
});
