// The production build under the Content-Security-Policy the Tauri shell enforces, with
// Object.prototype frozen as `freezePrototype: true` does. A violation here means the app
// would be broken (unstyled, or not running) in the real webview even though the dev-server
// tests pass.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { FakeBackend, UI_DIR, alertView, budgetView, freePort, launchChromium, openAddSource, sourceView } from './harness.mjs';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  'connect-src ipc: http://ipc.localhost',
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

let outDir;
let server;
let baseUrl;
let browser;

before(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'burnrate-ui-dist-'));
  await build({
    root: UI_DIR,
    configFile: path.join(UI_DIR, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  const port = await freePort();
  server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const file = path.join(outDir, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-security-policy': CSP,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-security-policy': CSP });
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test('the build has only index.html, no inline scripts or styles', async () => {
  const files = await readdir(outDir, { recursive: true });
  assert.ok(files.includes('index.html'));
  assert.ok(!files.some((f) => f.includes('mock')), `no test entry in dist: ${files.join(', ')}`);
  const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline <script>');
  assert.doesNotMatch(html, /<style/, 'no inline <style>');
  assert.doesNotMatch(html, /\sstyle=/, 'no style attributes');
  assert.doesNotMatch(html, /https?:\/\//, 'no external resources');
});

test('the production build runs under the Tauri CSP without violations', async () => {
  /** `plugin:event|listen` calls: { event, handler } where handler is a transformCallback id. */
  const listeners = [];
  const backend = new FakeBackend({
    sources: [
      sourceView({ id: 1, name: 'work-openai', last_sync: { finished_at: '2026-01-14T08:30:00Z', ok: true, rows_written: 4, error: null } }),
    ],
    report: [
      { day: '2026-01-14', source: 'work-openai', provider: null, key_id: null, key_name: null, model: null, currency: 'USD', amount: '3.500000', kind: 'billed' },
    ],
    reconcile: [
      { day: '2026-01-14', source: 'work-openai', currency: 'USD', billed: '3.500000', estimated: '3.000000', difference: '0.500000' },
    ],
    budgets: [budgetView({ id: 1, spent: '85.000000', estimated: true })],
    alerts: [alertView({ id: 1, source: 'work-openai', key_id: 'key_prod' })],
  })
    .on('plugin:event|listen', (args) => {
      listeners.push(args);
      return listeners.length;
    })
    .on('sync_now', () => [
      { source: 'work-openai', ok: false, rows_written: 0, from: '2026-01-01', to: '2026-01-14', error: { code: 'timeout', message: 'OpenAI did not answer within 30 s.' } },
    ]);

  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.exposeFunction('__ipcHandler', (cmd, args) => backend.handle(cmd, args));
  // What the Tauri runtime provides before the page's own scripts run.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
    let next = 1;
    window.__TAURI_INTERNALS__ = {
      async invoke(cmd, args) {
        const answer = await window.__ipcHandler(cmd, args ?? {});
        if (answer && typeof answer === 'object' && '__reject' in answer) throw answer.__reject;
        return answer;
      },
      transformCallback(callback) {
        const id = next++;
        window[`_${id}`] = callback;
        return id;
      },
      unregisterCallback(id) {
        delete window[`_${id}`];
      },
      convertFileSrc: (p) => p,
      metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
    };
    Object.freeze(Object.prototype);
  });

  await page.goto(`${baseUrl}/`);
  await page.locator('[data-source-name="work-openai"]').waitFor();
  await page.locator('#daily-spend').waitFor();
  await page.locator('#reconciliation').waitFor();

  // Exercise the dynamic parts: progress, busy state, results, confirm UI, validation, theme.
  const progress = listeners.find((l) => l.event === 'sync-progress');
  assert.ok(progress, 'the app listens for sync-progress');
  await page.evaluate(({ handler }) => {
    window[`_${handler}`]({ event: 'sync-progress', id: 1, payload: { source: 'work-openai', done: 2, total: 5, unit: 'pages' } });
  }, progress);
  await page.locator('#sync-progress-work-openai').waitFor();
  await page.click('#polling-toggle');
  await page.locator('#polling-toggle[data-paused="true"]').waitFor();
  await openAddSource(page);
  await page.selectOption('#source-provider', 'custom-json');
  await page.locator('#setting-pointer').waitFor();
  await page.click('#sync-all');
  await page.locator('#sync-results [data-sync-source="work-openai"]').waitFor();
  await page.locator('[data-source-name="work-openai"] [data-action="toggle-details"]').click();
  await page.locator('[data-source-name="work-openai"] [data-action="remove"]').click();
  await page.locator('[data-action="confirm-remove"]').waitFor();
  await page.click('#add-source-submit');
  await page.locator('#name-error').waitFor();
  // The budget bar (SVG attributes, no inline style), the modal dialog and settings.
  await page.click('#tab-budgets');
  await page.locator('[data-budget-id="1"] [role="meter"] rect.fill').waitFor();
  const fillWidth = await page.locator('[data-budget-id="1"] rect.fill').evaluate((r) => r.getBoundingClientRect().width);
  const trackWidth = await page.locator('[data-budget-id="1"] rect.track').evaluate((r) => r.getBoundingClientRect().width);
  assert.ok(Math.abs(fillWidth / trackWidth - 0.85) < 0.01, `the bar is 85 % full (${fillWidth}/${trackWidth})`);
  await page.click('#tab-alerts');
  await page.locator('[data-alert-id="1"] [data-action="disable-key"]').click();
  await page.locator('#disable-ack').check();
  await page.keyboard.press('Escape');
  await page.locator('#disable-dialog').waitFor({ state: 'detached' });
  await page.click('#tab-settings');
  await page.click('#pause-alerts');
  await page.locator('#pause-alerts[data-paused="true"]').waitFor();
  await page.click('#tab-spend');
  await page.click('label[for="theme-dark"]');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');

  // The stylesheet applied: the primary button has the accent background, not the UA default.
  const syncAllBg = await page.evaluate(() => getComputedStyle(document.getElementById('sync-all')).backgroundColor);
  assert.equal(syncAllBg, 'rgb(255, 140, 79)');

  assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
  assert.deepEqual(problems, []);
  await context.close();
});
