// Shared set-up for the real-app tests: a fresh data dir, tauri-driver, a WebDriver session
// on the real burnrate-desktop binary, and a loopback provider mock.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, Capabilities } from 'selenium-webdriver';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
// Cargo's target directory: CARGO_TARGET_DIR when set (relative to the repository), else target/.
const targetDir = resolve(repo, process.env.CARGO_TARGET_DIR ?? 'target');
export const APP = process.env.BURNRATE_APP ?? join(targetDir, 'debug/burnrate-desktop');
export const CLI = process.env.BURNRATE_CLI ?? join(targetDir, 'debug/burnrate');
export const FAKE_GATEWAY = process.env.FAKE_GATEWAY ?? join(targetDir, 'debug/fake-gateway');

async function waitForPort(port, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

/** Starts the real app under tauri-driver with `env` added, returns {driver, dataDir, stop}. */
/** How long a launch may take before the test fails instead of waiting on WebDriver. */
const START_TIMEOUT_MS = 60_000;

export async function launchApp(env = {}, dataDir = mkdtempSync(join(tmpdir(), 'burnrate-e2e-'))) {
  const childEnv = { ...process.env, BURNRATE_DATA_DIR: dataDir, ...env };
  const tauriDriver = spawn(process.env.TAURI_DRIVER ?? 'tauri-driver', ['--port', '4444', '--native-port', '4445'], {
    env: childEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(4444);
  const caps = new Capabilities();
  caps.setBrowserName('wry');
  caps.set('tauri:options', { application: APP });
  // WebKitWebDriver waits for the app forever: an app that exits at start-up would hang the run.
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the app did not start within ${START_TIMEOUT_MS / 1000} s (its log is above)`)), START_TIMEOUT_MS);
  });
  let driver;
  try {
    driver = await Promise.race([new Builder().withCapabilities(caps).usingServer('http://127.0.0.1:4444/').build(), deadline]);
  } catch (e) {
    tauriDriver.kill();
    await endApp(childEnv.BURNRATE_DATA_DIR).catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const stop = async () => {
    try { await driver.quit(); } catch { /* the app may already be gone */ }
    tauriDriver.kill();
    await endApp(childEnv.BURNRATE_DATA_DIR);
  };
  return { driver, dataDir, stop };
}

/** Pids of the app processes running on `dataDir` (read from /proc: no procps needed). */
export function appPids(dataDir) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (cmd === APP && env.includes(`BURNRATE_DATA_DIR=${dataDir}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * Ends the app this test started. WebKitWebDriver normally closes it with the session, but not
 * always; a survivor keeps the test runner's stdout open and the run never ends. So: a second
 * to exit on its own, then SIGTERM, then SIGKILL.
 */
async function endApp(dataDir) {
  for (let tick = 0; tick < 50; tick++) {
    const pids = appPids(dataDir);
    if (pids.length === 0) return;
    const signal = tick === 10 ? 'SIGTERM' : tick === 30 ? 'SIGKILL' : null;
    if (signal) {
      for (const pid of pids) {
        try { process.kill(pid, signal); } catch { /* already gone */ }
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the app on ${dataDir} did not exit, even after SIGKILL`);
}

/**
 * Starts the real app directly, without WebDriver (to see its exit code), on `dataDir` with
 * `env` added and `args`. Returns {child, exited: Promise<{code, signal}>, log(): string (stderr so far)}.
 */
export function startApp(env, dataDir, args = []) {
  const child = spawn(APP, args, {
    env: { ...process.env, BURNRATE_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, exited, log: () => log, stop: () => endApp(dataDir) };
}

/** Every process below `pid` with its command line: [{pid, cmd}]. */
export function descendants(pid) {
  const found = [];
  let children = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch {
    return found; // gone
  }
  for (const child of children) {
    try {
      found.push({ pid: child, cmd: readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      continue;
    }
    found.push(...descendants(child));
  }
  return found;
}

/** The X11 top-level windows of `pid` ([{id, title, mapped}]), and closing one like a window manager. */
export const x11 = {
  windows: (pid) => JSON.parse(execFileSync(PY, [join(ci, 'x11-window.py'), 'list', String(pid)]).toString()),
  close: (pid, title) => execFileSync(PY, [join(ci, 'x11-window.py'), 'close', String(pid), title]).toString(),
};

/** Runs the real CLI on `dataDir`; returns stdout. */
export function cli(dataDir, args, env = {}) {
  return execFileSync(CLI, args, { env: { ...process.env, BURNRATE_DATA_DIR: dataDir, ...env } }).toString();
}

export const PY = '/usr/bin/python3'; // Debian's, with python3-dbus and python3-gi
const ci = join(repo, 'tests/ci');

function nameHasOwner(name) {
  try {
    return execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
      'org.freedesktop.DBus.NameHasOwner', `string:${name}`]).toString().includes('boolean true');
  } catch {
    return false;
  }
}

/**
 * A desktop on the test's private session bus: a notification daemon that records every
 * notification and a StatusNotifierWatcher the tray registers with. Start before the app.
 */
export async function startDesktopServices() {
  // D-Bus starts an installed daemon (dunst) on demand whenever something on the bus asks for
  // notifications; if an earlier test did, stop it so the recording daemon can take the name.
  if (nameHasOwner('org.freedesktop.Notifications')) {
    let reply = '';
    try {
      reply = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
        'org.freedesktop.DBus.GetConnectionUnixProcessID', 'string:org.freedesktop.Notifications'], { stdio: 'pipe' }).toString();
    } catch {
      // The owner left between the two questions (an earlier test's daemon, just stopped).
    }
    const pid = Number(/uint32 (\d+)/.exec(reply)?.[1]);
    if (pid) {
      try { process.kill(pid); } catch { /* already gone */ }
    }
    const until = Date.now() + 5000;
    while (nameHasOwner('org.freedesktop.Notifications') && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  }
  const dir = mkdtempSync(join(tmpdir(), 'burnrate-desktop-'));
  const capFile = join(dir, 'notifications.jsonl');
  const registry = join(dir, 'tray-items.jsonl');
  const daemons = [
    spawn(PY, [join(ci, 'notif-capture.py'), capFile], { stdio: 'ignore' }),
    spawn(PY, [join(ci, 'sni-watcher.py'), registry], { stdio: 'ignore' }),
  ];
  const deadline = Date.now() + 10000;
  while (!(nameHasOwner('org.freedesktop.Notifications') && nameHasOwner('org.kde.StatusNotifierWatcher'))) {
    if (Date.now() > deadline) throw new Error('the notification daemon or tray watcher did not start (see tests/ci/*.py)');
    await new Promise((r) => setTimeout(r, 100));
  }
  const tray = (...args) => execFileSync(PY, [join(ci, 'tray.py'), registry, ...args]).toString();
  return {
    // The daemon writes its file at the first notification: none yet is an empty list.
    notifications: () => (existsSync(capFile) ? readFileSync(capFile, 'utf8') : '').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    trayMenu: () => JSON.parse(tray('menu')),
    trayClick: (label) => tray('click', label),
    stop: () => daemons.forEach((d) => d.kill()),
  };
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `ms`. */
export async function eventually(probe, what, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${ms} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/**
 * Opens a source's details in the Spend tab and returns its fingerprint text. The row is
 * located afresh on each try and clicked until it reports itself open: on a slow machine the
 * headline and chart land while the list is on screen and shift it, so one click can miss.
 */
export async function sourceFingerprint(driver, By, name, expected, ms = 15000) {
  return eventually(async () => {
    const item = await driver.findElement(By.css(`[data-source-name="${name}"]`));
    const toggle = await item.findElement(By.css('[data-action="toggle-details"]'));
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    const text = await item.findElement(By.css('[data-field="fingerprint"]')).getText();
    return text === expected ? text : null;
  }, `the details of ${name} showing ${expected}`, ms);
}

/** Runs SQL against the app's real ledger with Python's sqlite3 and returns rows as JSON. */
export function query(dataDir, sql) {
  const script = 'import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute(sys.argv[2]).fetchall()))';
  return JSON.parse(execFileSync('python3', ['-c', script, join(dataDir, 'ledger.sqlite3'), sql]).toString());
}

/** Every file under `dir` whose bytes contain `needle`. */
export function filesContaining(dir, needle) {
  const hits = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) hits.push(...filesContaining(path, needle));
    else if (readFileSync(path).includes(needle)) hits.push(path);
  }
  return hits;
}

/** A loopback OpenRouter that answers GET /api/v1/key with the documented example. */
export async function startOpenRouterMock(expectedKey) {
  const body = readFileSync(join(repo, 'tests/fixtures/openrouter/key.json'));
  const server = createServer((req, res) => {
    if (req.url === '/api/v1/key' && req.headers.authorization === `Bearer ${expectedKey}`) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":401,"message":"Missing Authentication header"}}');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/api/v1`, close: () => server.close() };
}
