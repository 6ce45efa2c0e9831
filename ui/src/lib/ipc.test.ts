import { afterEach, describe, expect, test } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import {
  addBudget,
  addSource,
  appInfo,
  dailyReport,
  disableKey,
  exportIncident,
  getSettings,
  IpcError,
  keyActions,
  listAlerts,
  listBudgets,
  listSources,
  onAlertsFired,
  onFocusKey,
  onSettingsChanged,
  onSyncFinished,
  onSyncProgress,
  pauseAlerts,
  pollerStatus,
  reconcile,
  removeBudget,
  removeSource,
  setPollingPaused,
  setSetting,
  syncNow,
  toIpcError,
} from './ipc';
import { record } from './record-ipc.test-helper';
import type { AlertView } from './bindings/AlertView';
import type { SettingsView } from './bindings/SettingsView';
import type { SourceStatus } from './bindings/SourceStatus';
import type { SyncOutcome } from './bindings/SyncOutcome';
import type { SyncProgress } from './bindings/SyncProgress';


afterEach(() => {
  clearMocks();
});

describe('wrappers send the right command and arguments', () => {
  test('appInfo', async () => {
    const info = { version: '0.1.0', data_dir: '/d', log_dir: '/l', providers: [] };
    const calls = record(() => info);
    await expect(appInfo()).resolves.toEqual(info);
    expect(calls).toEqual([{ cmd: 'app_info', args: {} }]);
  });

  test('listSources', async () => {
    const calls = record(() => []);
    await expect(listSources()).resolves.toEqual([]);
    expect(calls).toEqual([{ cmd: 'list_sources', args: {} }]);
  });

  test('addSource wraps the request', async () => {
    const calls = record(() => ({ name: 'work' }));
    const request = {
      provider: 'openrouter' as const,
      name: 'work',
      base_url: null,
      key: { kind: 'secret' as const, value: 'sk-or-v1-FAKE-unit-0000' },
    };
    await addSource(request);
    expect(calls).toEqual([{ cmd: 'add_source', args: { request } }]);
  });

  test('removeSource', async () => {
    const calls = record(() => null);
    await expect(removeSource('work')).resolves.toBeNull();
    expect(calls).toEqual([{ cmd: 'remove_source', args: { name: 'work' } }]);
  });

  test('syncNow with a name and with null', async () => {
    const calls = record(() => []);
    await syncNow('work');
    await syncNow(null);
    expect(calls).toEqual([
      { cmd: 'sync_now', args: { source: 'work' } },
      { cmd: 'sync_now', args: { source: null } },
    ]);
  });

  test('dailyReport wraps the query', async () => {
    const calls = record(() => []);
    const query = { by: ['source' as const], from: null, to: '2026-01-31' };
    await dailyReport(query);
    expect(calls).toEqual([{ cmd: 'daily_report', args: { query } }]);
  });

  test('reconcile wraps the query', async () => {
    const row = { day: '2026-01-14', source: 'work', currency: 'USD', billed: '2.000000', estimated: '1.500000', difference: '0.500000' };
    const calls = record(() => [row]);
    const query = { by: [], from: null, to: null };
    await expect(reconcile(query)).resolves.toEqual([row]);
    expect(calls).toEqual([{ cmd: 'reconcile', args: { query } }]);
  });

  test('pollerStatus takes no arguments', async () => {
    const status: SourceStatus = {
      source: 'work',
      state: 'backing_off',
      last_success_at: null,
      next_poll_at: '2026-01-14T09:12:00Z',
      last_error: { code: 'rate_limited', message: 'slow down' },
      consecutive_failures: 2,
    };
    const calls = record(() => [status]);
    await expect(pollerStatus()).resolves.toEqual([status]);
    expect(calls).toEqual([{ cmd: 'poller_status', args: {} }]);
  });

  test('setPollingPaused sends the flag', async () => {
    const calls = record(() => null);
    await expect(setPollingPaused(true)).resolves.toBeNull();
    await setPollingPaused(false);
    expect(calls).toEqual([
      { cmd: 'set_polling_paused', args: { paused: true } },
      { cmd: 'set_polling_paused', args: { paused: false } },
    ]);
  });
});

describe('budget, alert, settings and key wrappers', () => {
  test('listBudgets and removeBudget', async () => {
    const calls = record(() => null);
    await listBudgets();
    await removeBudget(7);
    expect(calls).toEqual([
      { cmd: 'list_budgets', args: {} },
      { cmd: 'remove_budget', args: { id: 7 } },
    ]);
  });

  test('addBudget wraps the request', async () => {
    const calls = record(() => ({ id: 1 }));
    const request = { scope: 'key:work/key_123', period: 'month', amount: '50', currency: 'USD', thresholds: [50, 80, 100] };
    await expect(addBudget(request)).resolves.toEqual({ id: 1 });
    expect(calls).toEqual([{ cmd: 'add_budget', args: { request } }]);
  });

  test('listAlerts sends the limit, null by default', async () => {
    const calls = record(() => []);
    await listAlerts();
    await listAlerts(50);
    expect(calls).toEqual([
      { cmd: 'list_alerts', args: { limit: null } },
      { cmd: 'list_alerts', args: { limit: 50 } },
    ]);
  });

  test('settings: get, set by name, pause and resume', async () => {
    const view = { time_zone: 'local', effective_time_zone: 'UTC', quiet_hours: null, alerts_paused_until: null };
    const calls = record(() => view);
    await expect(getSettings()).resolves.toEqual(view);
    await setSetting('time_zone', 'Europe/Berlin');
    await setSetting('quiet_hours', '');
    await pauseAlerts(3600);
    await pauseAlerts(0);
    expect(calls).toEqual([
      { cmd: 'get_settings', args: {} },
      { cmd: 'set_setting', args: { name: 'time_zone', value: 'Europe/Berlin' } },
      { cmd: 'set_setting', args: { name: 'quiet_hours', value: '' } },
      { cmd: 'pause_alerts', args: { seconds: 3600 } },
      { cmd: 'pause_alerts', args: { seconds: 0 } },
    ]);
  });

  test('disableKey sends camelCase arguments and the confirmation; alertId defaults to null', async () => {
    const calls = record(() => ({ id: 1, ok: true }));
    const confirm = { confirmed: true, acknowledged_irreversible: false };
    await disableKey('work', 'key_1', confirm, 12);
    await disableKey('work', 'key_1', confirm);
    expect(calls).toEqual([
      { cmd: 'disable_key', args: { source: 'work', keyId: 'key_1', confirm, alertId: 12 } },
      { cmd: 'disable_key', args: { source: 'work', keyId: 'key_1', confirm, alertId: null } },
    ]);
  });

  test('keyActions filters default to null', async () => {
    const calls = record(() => []);
    await keyActions();
    await keyActions('work', 'key_1');
    expect(calls).toEqual([
      { cmd: 'key_actions', args: { source: null, keyId: null } },
      { cmd: 'key_actions', args: { source: 'work', keyId: 'key_1' } },
    ]);
  });

  test('exportIncident resolves to the path written', async () => {
    const calls = record(() => '/home/user/incident.md');
    await expect(exportIncident('work', 'key_1', 'markdown', 3)).resolves.toBe('/home/user/incident.md');
    await exportIncident('work', 'key_1', 'csv');
    expect(calls).toEqual([
      { cmd: 'export_incident', args: { source: 'work', keyId: 'key_1', alertId: 3, format: 'markdown' } },
      { cmd: 'export_incident', args: { source: 'work', keyId: 'key_1', alertId: null, format: 'csv' } },
    ]);
  });

  test('the new error codes are kept, not turned into internal', async () => {
    for (const code of ['budget_not_found', 'notifications_unavailable', 'key_not_found', 'confirmation_required']) {
      mockIPC(() => Promise.reject({ code, message: `m ${code}` }));
      await expect(removeBudget(1)).rejects.toMatchObject({ code, message: `m ${code}` });
    }
  });
});

describe('errors are normalised to IpcError', () => {
  test('an ApiError object keeps its code and message', async () => {
    mockIPC(() => {
      throw { code: 'invalid_url', message: 'base URL must start with https://' };
    });
    const error = await addSource({
      provider: 'openai',
      name: 'x',
      base_url: 'ftp://nope',
      key: { kind: 'env', var: 'OPENAI_FAKE_KEY' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toBeInstanceOf(Error);
    expect((error as IpcError).code).toBe('invalid_url');
    expect((error as IpcError).message).toBe('base URL must start with https://');
  });

  test('a rejected promise is handled like a throw', async () => {
    mockIPC(() => Promise.reject({ code: 'source_exists', message: 'a source named "x" exists' }));
    await expect(listSources()).rejects.toMatchObject({ code: 'source_exists', message: 'a source named "x" exists' });
  });

  test('a string rejection becomes internal', async () => {
    mockIPC(() => Promise.reject('command sync_now not found'));
    const error = await syncNow(null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('internal');
    expect((error as IpcError).message).toBe('command sync_now not found');
  });

  test('unknown codes, plain Errors and empty values become internal', () => {
    expect(toIpcError({ code: 'no_such_code', message: 'm' })).toMatchObject({ code: 'internal', message: 'm' });
    expect(toIpcError(new TypeError('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
    expect(toIpcError(undefined)).toMatchObject({ code: 'internal' });
    expect(toIpcError(null)).toMatchObject({ code: 'internal' });
    expect(toIpcError(42).code).toBe('internal');
    expect(toIpcError({})).toMatchObject({ code: 'internal', message: 'Unexpected error.' });
  });
});

test('onSyncFinished delivers the payload and unsubscribes', async () => {
  mockIPC(() => null, { shouldMockEvents: true });
  const seen: SyncOutcome[][] = [];
  const unlisten = await onSyncFinished((outcomes) => seen.push(outcomes));
  const outcome: SyncOutcome = {
    source: 'work',
    ok: true,
    rows_written: 3,
    from: '2026-01-01',
    to: '2026-01-02',
    error: null,
  };
  await emit('sync-finished', [outcome]);
  expect(seen).toEqual([[outcome]]);
  unlisten();
  await emit('sync-finished', [outcome]);
  expect(seen).toHaveLength(1);
});

test('onSyncProgress delivers each step and unsubscribes', async () => {
  mockIPC(() => null, { shouldMockEvents: true });
  const seen: SyncProgress[] = [];
  const unlisten = await onSyncProgress((progress) => seen.push(progress));
  const step: SyncProgress = { source: 'work', done: 3, total: 10, unit: 'pages' };
  await emit('sync-progress', step);
  await emit('sync-finished', []);
  expect(seen).toEqual([step]);
  unlisten();
  await emit('sync-progress', step);
  expect(seen).toHaveLength(1);
});

test('a new wrapper normalises rejections too', async () => {
  mockIPC(() => Promise.reject({ code: 'unsupported', message: 'no poller in this build' }));
  const error = await pollerStatus().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IpcError);
  expect((error as IpcError).code).toBe('unsupported');
});

test('onAlertsFired and onFocusKey deliver their payloads and unsubscribe', async () => {
  mockIPC(() => null, { shouldMockEvents: true });
  const fired: AlertView[][] = [];
  const focused: { source: string; key_id: string }[] = [];
  const stopAlerts = await onAlertsFired((alerts) => fired.push(alerts));
  const stopFocus = await onFocusKey((key) => focused.push(key));
  const alert = { id: 1, kind: 'spike', title: 't' } as AlertView;
  await emit('alerts-fired', [alert]);
  await emit('focus-key', { source: 'work', key_id: 'key_1' });
  expect(fired).toEqual([[alert]]);
  expect(focused).toEqual([{ source: 'work', key_id: 'key_1' }]);
  stopAlerts();
  stopFocus();
  await emit('alerts-fired', [alert]);
  await emit('focus-key', { source: 'work', key_id: 'key_1' });
  expect(fired).toHaveLength(1);
  expect(focused).toHaveLength(1);
});

test('onSettingsChanged delivers the settings the tray changed', async () => {
  mockIPC(() => null, { shouldMockEvents: true });
  const seen: SettingsView[] = [];
  const stop = await onSettingsChanged((settings) => seen.push(settings));
  const settings = { alerts_paused_until: '2026-03-01T13:00:00Z' } as SettingsView;
  await emit('settings-changed', settings);
  expect(seen).toEqual([settings]);
  stop();
  await emit('settings-changed', settings);
  expect(seen).toHaveLength(1);
});
