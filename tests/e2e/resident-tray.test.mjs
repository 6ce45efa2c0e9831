// Closing the window does not quit: the real app, closed the way a window manager closes it
// (WM_DELETE_WINDOW over X11), stays in the tray with its web view gone, says so once, comes
// back from the tray, and quits from the tray's Quit, letting a poll in flight finish. With
// close_to_tray off, closing the window quits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import {
  appPids,
  cli,
  descendants,
  eventually,
  launchApp,
  query,
  repo,
  startApp,
  startDesktopServices,
  startOpenRouterMock,
  x11,
} from './harness.mjs';

const KEY = 'sk-or-v1-FAKE-e2e-resident-key-000000004321';
const TITLE = 'Burnrate';

/** A loopback OpenRouter whose answers can be held back: `hold(ms)`; `requests` counts them. */
async function startSlowOpenRouter() {
  const body = readFileSync(join(repo, 'tests/fixtures/openrouter/key.json'));
  const state = { holdMs: 0, requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (state.holdMs > 0) setTimeout(answer, state.holdMs);
    else answer();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/api/v1`, state, close: () => server.close() };
}

const webProcesses = (pid) => descendants(pid).filter((p) => /WebKitWebProcess/.test(p.cmd));
const webkitProcesses = (pid) => descendants(pid).filter((p) => /WebKit/.test(p.cmd));
const mapped = (pid) => x11.windows(pid).filter((w) => w.mapped && w.title === TITLE);
const trayNotices = (desktop) => desktop.notifications().filter((n) => /keeps watching from the tray/.test(`${n.summary} ${n.body}`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const newDataDir = () => mkdtempSync(join(tmpdir(), 'burnrate-e2e-'));

test('closing the window keeps Burnrate in the tray without its web view; Quit lets a poll finish', async (t) => {
  const mock = await startSlowOpenRouter();
  const desktop = await startDesktopServices();
  const dataDir = newDataDir();
  // One poll at start-up, then none for a day ('off' would poll nothing at all).
  const env = { BURNRATE_E2E_RESIDENT_KEY: KEY, BURNRATE_POLL_SECONDS: '86400' };
  cli(dataDir, ['source', 'add', 'openrouter', '--name', 'resident', '--base-url', mock.url, '--key-env', 'BURNRATE_E2E_RESIDENT_KEY'], env);
  // Debug logs say when a page has loaded and called the shell ("page ready").
  const app = startApp({ ...env, BURNRATE_LOG: 'info,burnrate_desktop=debug' }, dataDir);
  t.after(async () => { await app.stop(); mock.close(); desktop.stop(); });
  const pid = app.child.pid;
  const pagesReady = () => app.log().split('\n').filter((l) => l.includes('page ready')).length;

  await eventually(() => mapped(pid).length === 1, 'the window is shown', 30000);
  await eventually(() => pagesReady() === 1, 'the page has loaded');
  await eventually(() => desktop.trayMenu().some((e) => e.label === 'Quit'), 'the tray item is registered');
  await eventually(() => webProcesses(pid).length > 0, 'a WebKit web process renders the window');
  await eventually(() => query(dataDir, 'SELECT count(*) FROM sync_runs WHERE ok = 1')[0][0] === 1, 'the start-up poll');

  // Closed as a window manager closes it.
  x11.close(pid, TITLE);
  await eventually(() => mapped(pid).length === 0, 'the window is gone');
  await eventually(() => webProcesses(pid).length === 0, 'the WebKit web process exits with the web view', 20000);
  // WebKit keeps its network process without a page; the app ends it a few seconds later.
  await eventually(() => webkitProcesses(pid).length === 0, 'no WebKit process left', 20000);
  await sleep(1000);
  assert.equal(app.child.exitCode, null, `still running: ${app.log()}`);
  assert.deepEqual(appPids(dataDir), [pid]);
  const menu = desktop.trayMenu().map((e) => e.label);
  for (const label of ['Open Burnrate', 'Sync now', 'Quit']) assert.ok(menu.includes(label), `tray menu: ${menu.join(' | ')}`);
  await eventually(() => trayNotices(desktop).length === 1, 'the one notice that Burnrate keeps running');
  const [notice] = trayNotices(desktop);
  assert.equal(notice.summary, 'Burnrate keeps watching from the tray; Quit from its menu');
  assert.equal(query(dataDir, "SELECT value FROM app_settings WHERE name = 'tray_notice_shown'")[0][0], 'on');

  // Polling goes on in the tray.
  desktop.trayClick('Sync now');
  await eventually(() => query(dataDir, 'SELECT count(*) FROM sync_runs WHERE ok = 1')[0][0] === 2, 'a sync from the tray while hidden');

  // "Open Burnrate" builds the window again, at its remembered place.
  const saved = JSON.parse(readFileSync(join(dataDir, 'window.json'), 'utf8'));
  desktop.trayClick('Open Burnrate');
  await eventually(() => mapped(pid).length === 1, 'the window is back');
  await eventually(() => webProcesses(pid).length > 0, 'a new web process renders it');
  await eventually(() => pagesReady() === 2, 'the new page has loaded (with a new network process)');
  const reopened = JSON.parse(execXwininfo(mapped(pid)[0].id));
  assert.equal(`${reopened.width}x${reopened.height}`, `${saved.width}x${saved.height}`, 'its remembered size');

  // A second close does not notify again.
  x11.close(pid, TITLE);
  await eventually(() => mapped(pid).length === 0, 'the window is gone again');
  await sleep(1500);
  assert.equal(trayNotices(desktop).length, 1, 'told once only');
  assert.equal(app.child.exitCode, null);

  // A second launch opens the running app's window and ends.
  const second = startApp(env, dataDir);
  assert.equal((await second.exited).code, 0, second.log());
  await eventually(() => mapped(pid).length === 1, 'the window, opened by a second launch');

  // Quit during a poll: the poll finishes, then the process exits 0.
  mock.state.holdMs = 2000;
  const requests = mock.state.requests;
  desktop.trayClick('Sync now');
  await eventually(() => mock.state.requests > requests, 'the poll reaches the provider');
  const quitAt = Date.now();
  desktop.trayClick('Quit');
  const { code, signal } = await app.exited;
  t.diagnostic(`quit to exit: ${Date.now() - quitAt} ms`);
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, app.log());
  assert.ok(Date.now() - quitAt >= 1000, 'it waited for the poll in flight');
  assert.equal(query(dataDir, 'SELECT count(*) FROM sync_runs WHERE ok = 1')[0][0], 3, 'the poll in flight was written');
});

/** Size of an X11 window, from xwininfo (x11-utils). */
function execXwininfo(id) {
  const out = execFileSync('xwininfo', ['-id', String(id)]).toString();
  const width = Number(/Width: (\d+)/.exec(out)[1]);
  const height = Number(/Height: (\d+)/.exec(out)[1]);
  return JSON.stringify({ width, height });
}

test('with close_to_tray off, closing the window quits', async (t) => {
  const desktop = await startDesktopServices();
  const dataDir = newDataDir();
  cli(dataDir, ['settings', 'set', 'close_to_tray', 'off']);
  const app = startApp({ BURNRATE_POLL_SECONDS: 'off' }, dataDir);
  t.after(async () => { await app.stop(); desktop.stop(); });
  const pid = app.child.pid;
  await eventually(() => mapped(pid).length === 1, 'the window is shown', 30000);
  await eventually(() => desktop.trayMenu().some((e) => e.label === 'Quit'), 'the tray item is registered');
  x11.close(pid, TITLE);
  const { code, signal } = await app.exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, app.log());
  assert.equal(trayNotices(desktop).length, 0, 'nothing to say: it quit as asked');
});

test('a key opened from the tray while hidden: the window is built anew on that key', async (t) => {
  const mock = await startOpenRouterMock(KEY);
  const desktop = await startDesktopServices();
  const dataDir = newDataDir();
  // One poll at start-up, then none for a day ('off' would poll nothing at all).
  const env = { BURNRATE_E2E_RESIDENT_KEY: KEY, BURNRATE_POLL_SECONDS: '86400' };
  cli(dataDir, ['source', 'add', 'openrouter', '--name', 'resident', '--base-url', mock.url, '--key-env', 'BURNRATE_E2E_RESIDENT_KEY'], env);
  const { driver, stop } = await launchApp(env, dataDir);
  t.after(async () => { await stop(); mock.close(); desktop.stop(); });
  await driver.wait(until.elementLocated(By.id('sync-all')), 20000);
  const [pid] = appPids(dataDir);
  const firstPage = await driver.getWindowHandle();
  const keyItem = await eventually(
    () => desktop.trayMenu().map((e) => e.label).find((l) => l.endsWith(': 25.50 USD') && !l.startsWith('Today')),
    'the key spending today, in the tray',
  );

  x11.close(pid, TITLE);
  await eventually(() => mapped(pid).length === 0, 'the window is gone');
  await eventually(async () => (await driver.getAllWindowHandles()).length === 0, 'WebDriver sees no window');
  assert.deepEqual(appPids(dataDir), [pid], 'still running');

  // Opened again at once, before the app ends WebKit's idle network process: WebDriver's
  // session cannot follow a page served by a new network process (the first test covers that
  // case without WebDriver).
  desktop.trayClick(keyItem);
  await eventually(() => mapped(pid).length === 1, 'the window is back');
  // WebDriver follows the new web view as a new window.
  const handles = await eventually(async () => { const h = await driver.getAllWindowHandles(); return h.length === 1 && h; }, 'a new window handle');
  assert.notEqual(handles[0], firstPage);
  await driver.switchTo().window(handles[0]);
  const title = await driver.wait(until.elementLocated(By.id('key-panel-title')), 20000);
  assert.match(await title.getText(), /^Key sk-or-v1-/);
  assert.equal(await driver.findElement(By.id('tab-alerts')).getAttribute('aria-selected'), 'true');
  const panel = await driver.findElement(By.id('key-panel')).getText();
  assert.match(panel, /source resident/, panel);
  assert.doesNotMatch(panel, /Could not load/, panel);
});

test('a login start (--hidden) builds no window and no web view until opened from the tray', async (t) => {
  const desktop = await startDesktopServices();
  const dataDir = newDataDir();
  cli(dataDir, ['source', 'list']);
  const app = startApp({ BURNRATE_POLL_SECONDS: 'off' }, dataDir, ['--hidden']);
  t.after(async () => { await app.stop(); desktop.stop(); });
  const pid = app.child.pid;
  await eventually(() => desktop.trayMenu().some((e) => e.label === 'Open Burnrate'), 'the tray item is registered');
  await sleep(2000);
  assert.deepEqual(mapped(pid), []);
  assert.deepEqual(webkitProcesses(pid), [], 'no WebKit process at all');
  desktop.trayClick('Open Burnrate');
  await eventually(() => mapped(pid).length === 1, 'the window, opened from the tray');
  await eventually(() => webProcesses(pid).length > 0, 'its web process');
});
