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

const FAKE_KEY = 'sk-or-v1-FAKE-test-key-0000';

const open = useBrowserApp();

const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? null);

/** Source rows start collapsed: opens a row's details with its disclosure button. */
async function expand(row) {
  const toggle = row.locator('[data-action="toggle-details"]');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await row.locator(`#${await toggle.getAttribute('aria-controls')}`).waitFor();
}

function populatedBackend() {
  return new FakeBackend({
    sources: [
      sourceView({
        id: 1,
        name: 'work-openai',
        provider: 'openai',
        key_fingerprint: 'sk-…9f3c',
        last_sync: { finished_at: '2026-01-14T08:30:00Z', ok: true, rows_written: 42, error: null },
      }),
      sourceView({
        id: 2,
        name: 'personal-openrouter',
        provider: 'openrouter',
        base_url: 'https://openrouter.ai/api/v1',
        key_storage: 'env',
        key_env_var: 'OPENROUTER_API_KEY',
        key_fingerprint: 'sk-…7a21',
        last_sync: {
          finished_at: '2026-01-14T08:30:02Z',
          ok: false,
          rows_written: 0,
          error: { code: 'key_rejected', message: 'OpenRouter rejected the key (HTTP 401). Check that it is still active.' },
        },
      }),
      sourceView({ id: 3, name: 'team-anthropic', provider: 'anthropic', base_url: 'https://api.anthropic.com', key_fingerprint: 'sk-…e0d4' }),
    ],
    report: [
      { day: '2026-01-14', source: 'work-openai', provider: null, key_id: null, key_name: null, model: null, currency: 'USD', amount: '12.345678', kind: 'billed' },
      { day: '2026-01-14', source: 'personal-openrouter', provider: null, key_id: null, key_name: null, model: null, currency: 'USD', amount: '0.420000', kind: 'estimated' },
      { day: '2026-01-13', source: 'work-openai', provider: null, key_id: null, key_name: null, model: null, currency: 'USD', amount: '1234.500000', kind: 'billed' },
    ],
  });
}

describe('empty state and adding a source', () => {
  test('adds an OpenRouter source with a secret key; the key is never shown', async () => {
    const backend = new FakeBackend();
    const { page } = await open(backend);

    await page.locator('#empty-state').waitFor();
    assert.match(await page.locator('#empty-state').innerText(), /secret store/i);
    assert.match(await page.locator('#empty-state').innerText(), /environment variable/i);
    assert.equal((await page.locator('#add-source-title').innerText()).trim(), 'Add your first source');
    assert.ok(await page.locator('#add-source-form').isVisible());
    assert.equal(await page.locator('#source-list').count(), 0);

    // Provider choice drives the help text and the base URL placeholder.
    await page.selectOption('#source-provider', 'openrouter');
    assert.match(await page.locator('#provider-help').innerText(), /management key/);
    assert.equal(await page.locator('#source-base-url').getAttribute('placeholder'), 'https://openrouter.ai/api/v1');
    await page.selectOption('#source-provider', 'anthropic');
    assert.match(await page.locator('#provider-help').innerText(), /saved now, syncing arrives in a later version/);
    await page.selectOption('#source-provider', 'openrouter');
    assert.equal(await page.locator('#provider-sync-note').count(), 0);

    await page.fill('#source-name', 'work-openrouter');
    await page.fill('#source-key', FAKE_KEY);
    await page.click('#add-source-submit');

    const item = page.locator('#source-list [data-source-name="work-openrouter"]');
    await item.waitFor();
    assert.deepEqual(backend.callsTo('add_source'), [
      {
        request: {
          provider: 'openrouter',
          name: 'work-openrouter',
          base_url: null,
          key: { kind: 'secret', value: FAKE_KEY },
        },
      },
    ]);
    await expand(item);
    const text = await item.innerText();
    assert.match(text, /OpenRouter/);
    assert.match(text, /https:\/\/openrouter\.ai\/api\/v1/);
    assert.match(text, /OS secret store/);
    assert.equal(await item.locator('[data-field="fingerprint"]').innerText(), 'sk-…0000');
    assert.match(await page.locator('#status').innerText(), /Added source work-openrouter/);

    // The list was re-read, the empty state is gone and the form has made way for the figures;
    // "Add a source" opens a clear one.
    assert.ok(backend.callsTo('list_sources').length >= 2);
    assert.equal(await page.locator('#empty-state').count(), 0);
    assert.equal(await page.locator('#add-source-form').count(), 0);
    await openAddSource(page);
    assert.equal(await page.inputValue('#source-key'), '');
    assert.equal(await page.inputValue('#source-name'), '');

    // The secret appears nowhere in the page.
    const leaks = await page.evaluate((key) => ({
      text: document.body.innerText.includes(key),
      html: document.documentElement.outerHTML.includes(key),
      inputs: [...document.querySelectorAll('input')].some((i) => i.value.includes(key)),
      storage: JSON.stringify({ ...localStorage }).includes(key) || JSON.stringify({ ...sessionStorage }).includes(key),
    }), FAKE_KEY);
    assert.deepEqual(leaks, { text: false, html: false, inputs: false, storage: false });
  });

  test('environment-variable mode sends the variable name', async () => {
    const backend = new FakeBackend();
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();

    await page.selectOption('#source-provider', 'openrouter');
    await page.fill('#source-name', 'ci-openrouter');
    await page.check('#key-mode-env');
    assert.equal(await page.locator('#source-key').count(), 0, 'the secret field goes away in env mode');
    assert.match(await page.locator('#key-env-help').innerText(), /read each time Burnrate syncs/);
    assert.equal(await page.locator('#source-key-env').getAttribute('placeholder'), 'OPENROUTER_API_KEY');
    await page.fill('#source-key-env', 'OPENROUTER_TEST_KEY');
    await page.click('#add-source-submit');

    const item = page.locator('#source-list [data-source-name="ci-openrouter"]');
    await item.waitFor();
    assert.deepEqual(backend.callsTo('add_source'), [
      {
        request: {
          provider: 'openrouter',
          name: 'ci-openrouter',
          base_url: null,
          key: { kind: 'env', var: 'OPENROUTER_TEST_KEY' },
        },
      },
    ]);
    await expand(item);
    assert.equal(await item.locator('[data-field="key-storage"]').innerText(), 'env $OPENROUTER_TEST_KEY');
  });

  test('client-side validation: empty name and key are reported and nothing is sent', async () => {
    const backend = new FakeBackend();
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();

    await page.click('#add-source-submit');
    await page.locator('#name-error').waitFor();
    assert.match(await page.locator('#key-error').innerText(), /Paste the API key/);
    assert.equal(await focusedId(page), 'source-name');
    assert.equal(await page.getAttribute('#source-name', 'aria-invalid'), 'true');

    await page.fill('#source-name', 'gateway');
    await page.selectOption('#source-provider', 'litellm');
    await page.fill('#source-key', 'sk-FAKE-litellm-key-1234');
    await page.click('#add-source-submit');
    await page.locator('#baseUrl-error').waitFor();
    assert.equal(await focusedId(page), 'source-base-url');
    assert.deepEqual(backend.callsTo('add_source'), []);
  });

  test('test connection shows what the key can read, before anything is saved', async () => {
    const backend = new FakeBackend();
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();
    await page.selectOption('#source-provider', 'openrouter');
    assert.match(await page.locator('#provider-least-privilege').innerText(), /Least privilege: .*read-only/);

    // Without a key the test asks for one and sends nothing.
    await page.click('#test-connection');
    assert.equal(await focusedId(page), 'source-key');
    assert.equal(backend.callsTo('test_connection').length, 0);

    // No name is needed to test.
    await page.fill('#source-key', FAKE_KEY);
    await page.click('#test-connection');
    const result = page.locator('#connection-check');
    await result.locator('.readable').waitFor();
    assert.deepEqual(backend.callsTo('test_connection'), [
      { request: { provider: 'openrouter', name: '', base_url: null, key: { kind: 'secret', value: FAKE_KEY } } },
    ]);
    const text = await result.innerText();
    assert.match(text, /Connected to https:\/\/openrouter\.ai\/api\/v1 with sk-…0000 in 412 ms/);
    assert.match(text, /API keys: 2 keys: prod/);
    assert.match(text, /Spend: billed amounts per day, key, model/);
    assert.match(text, /Nothing was saved/);
    assert.deepEqual(
      await result.locator('li').evaluateAll((items) => items.map((li) => li.dataset.readable)),
      ['yes', 'yes', 'no'],
    );
    assert.equal(await result.getAttribute('aria-live'), 'polite');
    assert.equal(backend.callsTo('add_source').length, 0, 'testing saves nothing');
    assert.equal(await page.inputValue('#source-key'), FAKE_KEY, 'the key stays for adding');

    // A refused key: the reason and its code, no readable list.
    backend.on('test_connection', () => ({
      ok: false, provider: 'openrouter', base_url: 'https://openrouter.ai/api/v1', key_fingerprint: 'sk-…0000',
      from: '2026-03-09', to: '2026-03-10', elapsed_ms: 80, readable: [],
      error: { code: 'key_rejected', message: 'OpenRouter rejected the key (HTTP 401): create a management key.' },
    }));
    await page.click('#test-connection');
    await result.locator('[data-code="key_rejected"]').waitFor();
    assert.match(await result.innerText(), /The test request failed[\s\S]*management key/);
    assert.equal(await result.locator('.readable').count(), 0);

    // Changing provider clears a result that no longer applies; then the source is added.
    await page.selectOption('#source-provider', 'openai');
    await eventually(async () => (await result.innerText()).trim() === '');
    assert.equal(await page.evaluate((k) => document.body.innerText.includes(k), FAKE_KEY), false);
  });

  test('a saved source can be tested from its row; a refusal shows its code', async () => {
    const backend = populatedBackend();
    const { page } = await open(backend);
    const row = page.locator('[data-source-name="work-openai"]');
    await row.waitFor();
    await expand(row);
    await row.locator('[data-action="test"]').click();
    const result = row.locator('[data-field="test-result"]');
    await result.locator('.readable').waitFor();
    assert.match(await result.innerText(), /Connected to .* with sk-…9f3c in 230 ms/);
    assert.match(await result.innerText(), /Nothing was written to the ledger/);
    assert.deepEqual(backend.callsTo('test_source'), [{ name: 'work-openai' }]);

    backend.on('test_source', () => ({
      ok: false, provider: 'openrouter', base_url: 'https://openrouter.ai/api/v1', key_fingerprint: 'sk-…7a21',
      from: '2026-03-09', to: '2026-03-10', elapsed_ms: 90, readable: [],
      error: { code: 'key_rejected', message: 'OpenRouter rejected the key (HTTP 401).' },
    }));
    const other = page.locator('[data-source-name="personal-openrouter"]');
    await expand(other);
    await other.locator('[data-action="test"]').click();
    await other.locator('[data-field="test-result"] [data-code="key_rejected"]').waitFor();
    assert.match(await other.locator('[data-field="test-result"]').innerText(), /The test request failed[\s\S]*HTTP 401/);
    assert.equal(await result.locator('.readable').count(), 1, 'the first result stays with its source');
  });

  test('a backend invalid_url error is shown and focuses the base URL; input is kept', async () => {
    const backend = new FakeBackend().on('add_source', () =>
      reject('invalid_url', 'The base URL must be an http(s) URL, got "openrouter dot ai".'),
    );
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();

    await page.selectOption('#source-provider', 'openrouter');
    await page.fill('#source-name', 'broken');
    await page.fill('#source-base-url', 'openrouter dot ai');
    await page.fill('#source-key', FAKE_KEY);
    await page.click('#add-source-submit');

    const alert = page.locator('#form-error[role="alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /must be an http\(s\) URL/);
    assert.equal(await alert.getAttribute('data-code'), 'invalid_url');
    assert.equal(await focusedId(page), 'source-base-url');
    assert.equal(await page.getAttribute('#source-base-url', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#source-name'), 'broken');
    assert.equal(await page.inputValue('#source-base-url'), 'openrouter dot ai');
    assert.equal(backend.callsTo('add_source').length, 1);
    assert.equal(await page.locator('#source-list').count(), 0, 'nothing was added');
    assert.equal(await page.locator('#empty-state').count(), 1);
    assert.equal(await page.evaluate((k) => document.body.innerText.includes(k), FAKE_KEY), false);
  });

  test('other error codes focus the field they are about', async () => {
    let answer;
    const backend = new FakeBackend().on('add_source', () => answer);
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();
    await page.fill('#source-name', 'dup');

    const cases = [
      ['source_exists', 'A source named "dup" already exists.', 'source-name'],
      ['invalid_input', 'Names may only contain letters, digits, "-" and "_".', 'source-name'],
      ['key_missing', 'The key is empty.', 'source-key'],
    ];
    for (const [code, message, field] of cases) {
      answer = reject(code, message);
      if ((await page.inputValue('#source-key')) === '') await page.fill('#source-key', 'sk-FAKE-0123456789abcdef');
      await page.click('#source-provider'); // move focus away from the target field
      await page.keyboard.press('Escape');
      await page.click('#add-source-submit');
      await eventually(async () => (await page.getAttribute('#form-error', 'data-code')) === code);
      assert.match(await page.locator('#form-error').innerText(), new RegExp(message.slice(0, 12).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal(await focusedId(page), field, `${code} focuses #${field}`);
    }
    // key_missing cleared the unusable secret; the name stayed.
    assert.equal(await page.inputValue('#source-key'), '');
    assert.equal(await page.inputValue('#source-name'), 'dup');
  });
});

describe('sources list', () => {
  test('Sync all calls sync_now(null), shows progress, then per-source results', async () => {
    const backend = populatedBackend();
    let finishSync;
    backend.on('sync_now', () =>
      new Promise((resolve) => {
        finishSync = () =>
          resolve([
            { source: 'work-openai', ok: true, rows_written: 12, from: '2025-12-16', to: '2026-01-14', error: null },
            {
              source: 'personal-openrouter',
              ok: false,
              rows_written: 0,
              from: '2025-12-16',
              to: '2026-01-14',
              error: { code: 'key_missing', message: 'OPENROUTER_API_KEY is not set in the environment Burnrate runs in.' },
            },
          ]);
      }),
    );
    const { page } = await open(backend);
    await page.locator('#source-list [data-source-name="work-openai"]').waitFor();

    await page.click('#sync-all');
    await eventually(async () => (await page.getAttribute('#sync-all', 'aria-busy')) === 'true');
    assert.equal(await page.getAttribute('#source-list', 'aria-busy'), 'true');
    assert.match(await page.locator('#status').innerText(), /Syncing all sources/);
    assert.deepEqual(backend.callsTo('sync_now'), [{ source: null }]);

    const listCallsBefore = backend.callsTo('list_sources').length;
    const reportCallsBefore = backend.callsTo('daily_report').length;
    finishSync();

    const failed = page.locator('#sync-results [data-sync-source="personal-openrouter"]');
    await failed.waitFor();
    assert.match(await failed.innerText(), /OPENROUTER_API_KEY is not set/);
    assert.match(await failed.innerText(), /key_missing/);
    assert.match(await page.locator('#sync-results [data-sync-source="work-openai"]').innerText(), /12 rows/);
    assert.equal(await page.getAttribute('#sync-all', 'aria-busy'), null);
    assert.match(await page.locator('#status').innerText(), /1 ok, 1 failed/);
    await eventually(() => backend.callsTo('daily_report').length > reportCallsBefore);
    assert.ok(backend.callsTo('list_sources').length > listCallsBefore, 'the list is re-read after a sync');

    // Per-source sync.
    backend.on('sync_now', ({ source }) => [
      { source, ok: true, rows_written: 3, from: '2026-01-10', to: '2026-01-14', error: null },
    ]);
    await page.locator('[data-source-name="work-openai"] [data-action="sync"]').click();
    await page.locator('#sync-results [data-sync-source="work-openai"]').waitFor();
    await eventually(async () => /3 rows/.test(await page.locator('#sync-results').innerText()));
    assert.deepEqual(backend.callsTo('sync_now').at(-1), { source: 'work-openai' });
  });

  test('a source shows provider, storage, fingerprint and last sync state', async () => {
    const { page } = await open(populatedBackend());
    const ok = page.locator('[data-source-name="work-openai"]');
    await ok.waitFor();
    assert.match(await ok.innerText(), /OpenAI/);
    await expand(ok);
    assert.match(await ok.locator('[data-field="last-sync"]').innerText(), /ok\s+42 rows/);
    assert.equal(await ok.locator('[data-field="fingerprint"]').innerText(), 'sk-…9f3c');
    const failed = page.locator('[data-source-name="personal-openrouter"]');
    await expand(failed);
    assert.equal(await failed.locator('[data-field="key-storage"]').innerText(), 'env $OPENROUTER_API_KEY');
    assert.match(await failed.locator('[data-field="last-sync"]').innerText(), /failed[\s\S]*HTTP 401[\s\S]*key_rejected/);
    const never = page.locator('[data-source-name="team-anthropic"]');
    assert.match(await never.innerText(), /never synced/);
    await expand(never);
    assert.match(await never.innerText(), /syncing arrives in a later version/);
  });

  test('a key sent over plain http:// to another machine is flagged in its row and explained in its details', async () => {
    const warning = 'http://proxy.example.com:4000 is plain http://: the key travels unencrypted to proxy.example.com; use https:// unless the network between is yours';
    const backend = new FakeBackend({
      sources: [
        sourceView({ id: 1, name: 'lan-proxy', provider: 'litellm', base_url: 'http://proxy.example.com:4000/', cleartext_warning: warning }),
        sourceView({ id: 2, name: 'local-proxy', provider: 'litellm', base_url: 'http://localhost:4000/' }),
      ],
    });
    const { page } = await open(backend);
    const flagged = page.locator('[data-source-name="lan-proxy"]');
    await flagged.waitFor();
    const badge = flagged.locator('[data-field="cleartext"]');
    assert.equal((await badge.innerText()).trim(), 'unencrypted');
    assert.equal(await badge.getAttribute('title'), warning);
    await expand(flagged);
    assert.equal(await flagged.locator('[data-field="cleartext-warning"]').innerText(), warning);
    assert.equal(await page.locator('[data-source-name="local-proxy"] [data-field="cleartext"]').count(), 0);
  });

  test('sources are a compact list: a line per source, details on demand, a failure in its row, no sideways scroll at 640×480', async () => {
    const backend = populatedBackend();
    const longName = 'a-gateway-source-whose-name-goes-on-and-on-and-on-well-past-any-column';
    const longUrl = 'https://gateway.internal.example.com/a/very/long/path/that/must/never/widen/the/page/v1/organization/usage/costs';
    backend.sources.push(
      sourceView({
        id: 4,
        name: longName,
        provider: 'litellm',
        base_url: longUrl,
        last_sync: { finished_at: '2026-01-14T08:31:00Z', ok: true, rows_written: 3, error: null },
      }),
    );
    const { page } = await open(backend);
    const line = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
    const rows = page.locator('#source-list > li');
    await page.locator('[data-source-name="work-openai"]').waitFor();
    assert.equal(await rows.count(), 4);

    const collapsedRowsFit = async () => {
      for (let i = 0; i < 4; i++) {
        const row = rows.nth(i);
        const height = await row.evaluate((li) => li.getBoundingClientRect().height);
        assert.ok(height <= 56, `row ${i} is one line, ${height} px tall`);
        const toggle = row.locator('[data-action="toggle-details"]');
        assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
        assert.ok(await row.locator(`#${await toggle.getAttribute('aria-controls')}`).isHidden(), 'details start hidden');
        assert.ok(await row.locator('[data-action="sync"]').isVisible(), 'Sync now is in the row');
        assert.ok(await row.locator('[data-action="test"]').isHidden(), 'Test connection waits in the details');
      }
    };
    await collapsedRowsFit();

    // The dot has a name, not only a colour; the row tells the provider and the last sync.
    const ok = page.locator('[data-source-name="work-openai"]');
    assert.equal(await ok.locator('[data-field="sync-summary"] [role="img"]').getAttribute('aria-label'), 'Status: ok');
    assert.match(await line(ok.locator('[data-field="sync-summary"]')), /^synced \S/);
    assert.match(await line(ok), /work-openai OpenAI synced .* Sync now$/);
    const never = page.locator('[data-source-name="team-anthropic"]');
    assert.equal(await never.locator('[data-field="sync-summary"] [role="img"]').getAttribute('aria-label'), 'Status: never synced');
    assert.equal(await line(never.locator('[data-field="sync-summary"]')), 'never synced');

    // A failed sync shows its reason in its row, cut to one line, the full text in the tooltip.
    const failed = page.locator('[data-source-name="personal-openrouter"]');
    assert.equal(await failed.locator('[data-field="sync-summary"] [role="img"]').getAttribute('aria-label'), 'Status: failing');
    const error = failed.locator('[data-field="row-error"]');
    assert.ok(await error.isVisible());
    assert.match(await line(error), /^failed: OpenRouter rejected the key \(HTTP 401\)/);
    assert.equal(await error.getAttribute('data-code'), 'key_rejected');
    assert.match(await failed.locator('.summary-text').getAttribute('title'), /Check that it is still active\. \(key_rejected\)$/);

    // The disclosure works from the keyboard: Enter opens the details, Space closes them.
    const toggle = failed.locator('[data-action="toggle-details"]');
    await toggle.focus();
    await page.keyboard.press('Enter');
    const details = page.locator(`#${await toggle.getAttribute('aria-controls')}`);
    await details.waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal(await line(details.locator('[data-field="base-url"]')), 'https://openrouter.ai/api/v1');
    assert.ok(await details.locator('[data-action="test"]').isVisible());
    assert.ok(await ok.locator('[data-action="test"]').isHidden(), 'the other rows stay closed');
    await page.keyboard.press('Space');
    await eventually(() => details.isHidden());
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'toggle-details');

    // The window's minimum size: long names and URLs are cut or wrapped, never scrolled sideways.
    await page.setViewportSize({ width: 640, height: 480 });
    const noSidewaysScroll = async (what) => {
      const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      assert.ok(scroll <= client, `${what}: the page is ${scroll} px wide in a ${client} px window`);
    };
    await noSidewaysScroll('collapsed');
    await collapsedRowsFit();
    const long = page.locator(`[data-source-name="${longName}"]`);
    const name = long.locator('.name-text');
    assert.equal(await name.getAttribute('title'), longName);
    assert.ok(await name.evaluate((el) => el.scrollWidth > el.clientWidth), 'the long name is cut with an ellipsis');
    await long.locator('[data-action="toggle-details"]').click();
    assert.equal(await line(long.locator('[data-field="base-url"]')), longUrl);
    await noSidewaysScroll('a long URL open');
  });

  test('Remove asks for confirmation in the page; Escape cancels, confirming removes', async () => {
    const backend = populatedBackend();
    const { page } = await open(backend);
    const item = page.locator('[data-source-name="team-anthropic"]');
    await item.waitFor();
    await expand(item);

    await item.locator('[data-action="remove"]').click();
    const confirm = item.locator('[data-action="confirm-remove"]');
    await confirm.waitFor();
    assert.match(await item.locator('.confirm').innerText(), /recorded spend is deleted/);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'cancel-remove');
    await page.keyboard.press('Escape');
    await eventually(async () => (await confirm.count()) === 0);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'remove');
    assert.deepEqual(backend.callsTo('remove_source'), []);

    await item.locator('[data-action="remove"]').click();
    await confirm.click();
    await eventually(async () => (await item.count()) === 0);
    assert.deepEqual(backend.callsTo('remove_source'), [{ name: 'team-anthropic' }]);
    assert.match(await page.locator('#status').innerText(), /Removed source team-anthropic/);
    assert.equal(await page.locator('#source-list > li').count(), 2);
  });

  test('a sync finished elsewhere (tray) refreshes the view', async () => {
    const backend = populatedBackend();
    const { page } = await open(backend);
    await page.locator('[data-source-name="work-openai"]').waitFor();
    await eventually(() => backend.callsTo('daily_report').length === 1);
    const before = backend.callsTo('list_sources').length;
    await page.evaluate(() => window.__emitEvent('sync-finished', []));
    await eventually(() => backend.callsTo('list_sources').length > before && backend.callsTo('daily_report').length === 2);
  });
});

describe('daily spend and theme', () => {
  test('the report renders rows with locale-formatted amounts and kind badges', async () => {
    const backend = populatedBackend();
    const { page } = await open(backend);
    const table = page.locator('#daily-spend');
    await table.waitFor();
    assert.deepEqual(backend.callsTo('daily_report')[0], { query: { by: ['source'], from: null, to: null } });
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 3);
    const first = (await rows.nth(0).innerText()).replace(/\s+/g, ' ');
    assert.match(first, /2026-01-14 work-openai USD 12\.35 billed/);
    assert.match((await rows.nth(1).innerText()).replace(/\s+/g, ' '), /USD 0\.42 estimated/);
    assert.match((await rows.nth(2).innerText()).replace(/\s+/g, ' '), /USD 1,234\.50 billed/);
    assert.equal(await page.locator('#daily-spend-empty').count(), 0);
  });

  test('a month of days draws the last 7 first; "Show all" draws the rest', async () => {
    const backend = populatedBackend();
    // 30 days × 2 sources, oldest first as the core sends them.
    backend.report = Array.from({ length: 30 }, (_, d) => `2026-01-${String(d + 1).padStart(2, '0')}`).flatMap((day) =>
      ['work-openai', 'deep'].map((source) => ({
        day, source, provider: null, key_id: null, key_name: null, model: null, model_name: null, currency: 'USD', amount: '1.000000', kind: 'billed',
      })),
    );
    const { page } = await open(backend);
    const rows = page.locator('#daily-spend tbody tr');
    await page.locator('#daily-spend').waitFor();
    assert.equal(await rows.count(), 14, 'the last 7 days of 2 sources');
    assert.match((await rows.nth(0).innerText()).replace(/\s+/g, ' '), /^2026-01-24 /);
    const more = page.locator('[data-field="daily-spend-more"]');
    assert.equal((await more.innerText()).replace(/\s+/g, ' ').trim(), 'The last 7 of 30 days. Show all 60 rows');
    await more.getByRole('button', { name: 'Show all 60 rows' }).click();
    await eventually(async () => (await rows.count()) === 60);
    assert.equal(await more.count(), 0);
  });

  test('the report shows its empty-state text when there are no rows', async () => {
    const backend = populatedBackend();
    backend.report = [];
    const { page } = await open(backend);
    const empty = page.locator('#daily-spend-empty');
    await eventually(async () => (await empty.innerText()).includes('No spend recorded yet'));
    assert.equal((await empty.innerText()).trim(), 'No spend recorded yet — add a source and press Sync all.');
    assert.equal(await page.locator('#daily-spend').count(), 0);
  });

  test('theme follows the system by default; Dark is applied and persisted across reload', async () => {
    const { page: darkSystem } = await open(new FakeBackend(), { colorScheme: 'dark' });
    await darkSystem.locator('#add-source-form').waitFor();
    assert.equal(await darkSystem.getAttribute('html', 'data-theme'), 'dark');
    assert.ok(await darkSystem.isChecked('#theme-system'));

    const backend = populatedBackend().on('sync_now', () => [
      { source: 'work-openai', ok: true, rows_written: 12, from: '2025-12-16', to: '2026-01-14', error: null },
      {
        source: 'personal-openrouter',
        ok: false,
        rows_written: 0,
        from: '2025-12-16',
        to: '2026-01-14',
        error: { code: 'key_missing', message: 'OPENROUTER_API_KEY is not set in the environment Burnrate runs in.' },
      },
      {
        source: 'team-anthropic',
        ok: false,
        rows_written: 0,
        from: '2025-12-16',
        to: '2026-01-14',
        error: { code: 'invalid_input', message: 'Syncing Anthropic sources is not supported yet.' },
      },
    ]);
    const { page } = await open(backend, { colorScheme: 'light' });
    await page.locator('#source-list').waitFor();
    assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
    const lightBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

    // Populate every kind of state for the screenshots and the contrast check.
    await page.click('#sync-all');
    await page.locator('#sync-results').waitFor();
    // One row open with its confirmation, one open with its failure, the third collapsed.
    await expand(page.locator('[data-source-name="personal-openrouter"]'));
    await expand(page.locator('[data-source-name="team-anthropic"]'));
    await page.locator('[data-source-name="team-anthropic"] [data-action="remove"]').click();
    await openAddSource(page);
    await page.selectOption('#source-provider', 'litellm');
    await page.click('#add-source-submit');
    await page.locator('#name-error').waitFor();
    await page.mouse.click(5, 5);
    assert.deepEqual(await lowContrastText(page), [], 'light theme contrast');

    await page.click('label[for="theme-dark"]');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor), lightBg);
    assert.deepEqual(await lowContrastText(page), [], 'dark theme contrast');
    await page.mouse.click(5, 5);
    await page.screenshot({ path: resultsPath('populated-dark.png'), fullPage: true });
    await page.click('label[for="theme-light"]');
    await page.mouse.click(5, 5);
    await page.screenshot({ path: resultsPath('populated-light.png'), fullPage: true });
    await page.click('label[for="theme-dark"]');

    await page.reload();
    await page.locator('#source-list').waitFor();
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
    assert.ok(await page.isChecked('#theme-dark'));

    await page.click('label[for="theme-light"]');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'light');

    await page.click('label[for="theme-system"]');
    await page.reload();
    await page.locator('#source-list').waitFor();
    assert.ok(await page.isChecked('#theme-system'));
    assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
  });
});

describe('keyboard', () => {
  test('the form can be filled and submitted with the keyboard only', async () => {
    const backend = new FakeBackend();
    const { page } = await open(backend);
    await page.locator('#add-source-form').waitFor();

    // From the top of the page, Tab reaches the provider select.
    const order = [];
    for (let i = 0; i < 10 && order.at(-1) !== 'source-provider'; i++) {
      await page.keyboard.press('Tab');
      order.push(await focusedId(page));
    }
    assert.equal(order.at(-1), 'source-provider', `tab order: ${order.join(' → ')}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'keyboard focus is visible');

    // openai → anthropic → openrouter
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.inputValue('#source-provider'), 'openrouter');

    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'source-name');
    await page.keyboard.type('kbd-openrouter');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'source-base-url');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'key-mode-secret');
    await page.keyboard.press('ArrowRight');
    assert.equal(await focusedId(page), 'key-mode-env');
    assert.ok(await page.isChecked('#key-mode-env'));
    await page.keyboard.press('ArrowLeft');
    assert.ok(await page.isChecked('#key-mode-secret'));
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'source-key');
    await page.keyboard.type(FAKE_KEY);
    await page.keyboard.press('Enter');

    await page.locator('[data-source-name="kbd-openrouter"]').waitFor();
    assert.deepEqual(backend.callsTo('add_source'), [
      {
        request: {
          provider: 'openrouter',
          name: 'kbd-openrouter',
          base_url: null,
          key: { kind: 'secret', value: FAKE_KEY },
        },
      },
    ]);
  });
});
