// Produces docs/screenshot.png (and -chart, -gateway) from the real app under Xvfb: a demo ledger
// is synced by the real CLI from a loopback OpenAI mock and a gateway assessment is started with
// it, then the desktop app is opened on it over WebDriver.
// Run through scripts/screenshot.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { CLI, launchApp, repo } from './harness.mjs';

const DEMO_KEY = 'sk-admin-FAKE-demo-key-for-screenshots-7d3f';
const DAY = 86400;
const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
const keys = ['key_demo_backend', 'key_demo_batch', 'key_demo_notebook'];

/** The cost buckets in [from, to), as the real endpoint answers a window. */
function costsPage(from, to) {
  const data = [];
  for (let d = 13; d >= 0; d--) {
    const start = today - d * DAY;
    if (start < from || start >= to) continue;
    data.push({
      object: 'bucket', start_time: start, end_time: start + DAY,
      results: keys.map((k, i) => ({
        object: 'organization.costs.result',
        amount: { value: Number(((3 - i) * 1.7 + ((d * 7 + i * 3) % 5) * 0.83).toFixed(2)), currency: 'usd' },
        api_key_id: k, project_id: 'proj_demo', line_item: null,
      })),
    });
  }
  return JSON.stringify({ object: 'page', data, has_more: false, next_page: null });
}

const names = ['backend (prod)', 'batch jobs', 'research notebook'];
function answer(url) {
  const parsed = new URL(url, 'http://x');
  const path = parsed.pathname;
  if (path.endsWith('/organization/costs')) {
    const from = Number(parsed.searchParams.get('start_time') ?? 0);
    const to = Number(parsed.searchParams.get('end_time') ?? Number.MAX_SAFE_INTEGER);
    return costsPage(from, to);
  }
  if (path.endsWith('/organization/projects')) {
    return JSON.stringify({ object: 'list', data: [{ id: 'proj_demo', object: 'organization.project', name: 'Demo', created_at: today - 200 * DAY, archived_at: null, status: 'active' }], first_id: 'proj_demo', last_id: 'proj_demo', has_more: false });
  }
  if (path.endsWith('/api_keys')) {
    const data = keys.map((id, i) => ({
      object: 'organization.project.api_key', id, name: names[i], redacted_value: `sk-proj-…${id.slice(-4)}`,
      created_at: today - (40 + i * 70) * DAY, last_used_at: today,
      owner: { type: 'service_account', service_account: { id: 'svc_demo', name: 'demo' } },
    }));
    return JSON.stringify({ object: 'list', data, first_id: keys[0], last_id: keys[2], has_more: false });
  }
  if (path.endsWith('/user/balance')) {
    return JSON.stringify({ is_available: true, balance_infos: [{ currency: 'CNY', total_balance: '86.40', granted_balance: '0.00', topped_up_balance: '86.40' }] });
  }
  // Usage endpoints: no token data in this demo (the costs are the billed figures).
  return JSON.stringify({ object: 'page', data: [], has_more: false, next_page: null });
}
const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(answer(req.url)));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/v1`;
const dataDir = mkdtempSync(join(tmpdir(), 'burnrate-shot-'));
const env = { ...process.env, BURNRATE_DATA_DIR: dataDir, DEMO_OPENAI_ADMIN_KEY: DEMO_KEY, DEMO_DEEPSEEK_KEY: DEMO_KEY };
// Async: the mock answers from this same process, so its event loop must stay free.
const run = promisify(execFile);
await run(CLI, ['source', 'add', 'openai', '--name', 'team-openai', '--base-url', base, '--key-env', 'DEMO_OPENAI_ADMIN_KEY'], { env });
await run(CLI, ['source', 'add', 'deepseek', '--name', 'deepseek', '--base-url', base.replace(/\/v1$/, ''), '--key-env', 'DEMO_DEEPSEEK_KEY'], { env });
await run(CLI, ['sync'], { env });
await run(CLI, ['budget', 'add', '--scope', 'total', '--period', 'month', '--amount', '250', '--currency', 'USD'], { env });
// A gateway assessment part way through, for the third picture.
await run(CLI, ['check', 'new', '--name', 'Example relay', '--base-url', 'https://relay.example/v1', '--claim', 'Authorized reseller of the major providers'], { env });
for (const [q, a] of [['scope.providers', 'pass'], ['scope.models', 'pass'], ['scope.relationship', 'unknown'], ['keys.per_account', 'pass'], ['keys.server_side', 'pass'], ['payment.receipts', 'fail']]) {
  await run(CLI, ['check', 'answer', '1', q, a], { env });
}
await run(CLI, ['check', 'attach', '1', 'scope.providers', '--note', 'Model list names five providers; no partner page found.'], { env });
await run(CLI, ['check', 'flag', '1', 'no_receipts', 'on'], { env });

const { driver, stop } = await launchApp({ BURNRATE_DATA_DIR: dataDir, DEMO_OPENAI_ADMIN_KEY: DEMO_KEY, DEMO_DEEPSEEK_KEY: DEMO_KEY });
try {
  await driver.wait(until.elementLocated(By.css('[data-source-name="team-openai"]')), 20000);
  await driver.wait(until.elementLocated(By.css('#daily-spend tbody tr')), 10000);
  await driver.wait(until.elementLocated(By.css('#daily-spend-section:not([aria-busy])')), 10000);
  await driver.wait(until.elementLocated(By.css('#chart-frame img')), 10000);
  await driver.wait(until.elementLocated(By.css('#key-table')), 10000);
  await driver.wait(until.elementLocated(By.css('#spend-headline [data-field="month"]')), 10000);
  await driver.sleep(500); // let WebKit paint the last frame before capturing it
  const out = process.argv[2] ?? join(repo, 'docs/screenshot.png');
  writeFileSync(out, await driver.takeScreenshot(), 'base64');
  console.log(`wrote ${out}`);
  // BURNRATE_SHOT_VIEWS=DIR: also the first screen at the default and the minimum window size,
  // light and dark, for a look at what a user meets first.
  if (process.env.BURNRATE_SHOT_VIEWS) {
    for (const [width, height] of [[1100, 780], [640, 480], [1920, 1080]]) {
      await driver.manage().window().setRect({ width, height });
      for (const theme of ['light', 'dark']) {
        await driver.executeScript('document.documentElement.dataset.theme = arguments[0]; window.scrollTo(0, 0)', theme);
        await driver.sleep(400);
        const view = join(process.env.BURNRATE_SHOT_VIEWS, `first-screen-${width}x${height}-${theme}.png`);
        writeFileSync(view, await driver.takeScreenshot(), 'base64');
        // What a look at the picture checks, as numbers: no sideways scroll, and how far down
        // the headline, the chart and the key table start.
        const layout = await driver.executeScript(`
          const top = (sel) => { const el = document.querySelector(sel); return el ? Math.round(el.getBoundingClientRect().top) : null; };
          const root = document.documentElement;
          return { viewport: [innerWidth, innerHeight], sidewaysScroll: root.scrollWidth - root.clientWidth,
                   page: root.scrollHeight, headline: top('#spend-headline'), chart: top('#chart-section'), keys: top('#keys-section') };`);
        console.log(`wrote ${view} ${JSON.stringify(layout)}`);
      }
    }
    await driver.manage().window().setRect({ width: 1100, height: 780 });
  }
  // The chart and the key table below it, as a second picture (the window scrolled to them;
  // WebKitWebDriver's element screenshots come out blank).
  const chart = await driver.findElement(By.id('chart-section'));
  await driver.executeScript('arguments[0].scrollIntoView()', chart);
  await driver.sleep(500);
  const chartOut = out.replace(/\.png$/, '-chart.png');
  writeFileSync(chartOut, await driver.takeScreenshot(), 'base64');
  console.log(`wrote ${chartOut}`);
  // The gateway checklist: the assessment's verdict with its reasons.
  await driver.executeScript('window.scrollTo(0, 0)');
  await driver.findElement(By.id('tab-gateways')).click();
  await driver.wait(until.elementLocated(By.css('[data-assessment-id="1"] [data-action="open"]')), 10000).click();
  await driver.wait(until.elementLocated(By.id('gw-wizard')), 10000);
  await driver.findElement(By.xpath("//button[contains(normalize-space(), 'Verdict and report')]")).click();
  await driver.sleep(500);
  const gatewayOut = out.replace(/\.png$/, '-gateway.png');
  writeFileSync(gatewayOut, await driver.takeScreenshot(), 'base64');
  console.log(`wrote ${gatewayOut}`);
} finally {
  await stop();
  server.close();
}
