// Cross-view effects that go through the stores instead of App.svelte's props.
import { afterEach, describe, expect, test } from 'vitest';
import { clearMocks } from '@tauri-apps/api/mocks';
import { alerts } from './alerts.svelte';
import { budgets } from './budgets.svelte';
import { tabs } from './tabs.svelte';
import { record as recordIpc } from '../record-ipc.test-helper';
import type { AlertView } from '../bindings/AlertView';

/** Records every invoke; every read answers with an empty list. */
const record = (answer: (cmd: string) => unknown = () => []) => recordIpc(answer);

afterEach(() => {
  clearMocks();
});

describe('stores', () => {
  test("the Budgets tab reads the budget form's key list once, when first opened", async () => {
    const calls = record();
    await tabs.select('budgets');
    await tabs.select('spend');
    await tabs.select('budgets');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls.filter((c) => c.cmd === 'daily_report')).toEqual([
      { cmd: 'daily_report', args: { query: { by: ['key', 'source'], from: null, to: null } } },
    ]);
    expect(budgets.keys.error).toBeNull();
  });

  test('alerts-fired shows a toast, counts unread alerts off the Alerts tab and re-reads alerts and budgets', async () => {
    await tabs.select('spend'); // re-reads the headline: not what this test counts
    const calls = record();
    const fired = [{ id: 7, kind: 'threshold', source: 'work', key_id: 'k1', key_name: 'prod' }] as unknown as AlertView[];
    alerts.fired(fired);
    expect(alerts.toast).toEqual(fired);
    expect(tabs.unreadAlerts).toBe(1);
    expect(alerts.toastKey).toMatchObject({ source: 'work', key_id: 'k1' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls.map((c) => c.cmd).sort()).toEqual(['list_alerts', 'list_budgets']);

    await tabs.select('alerts');
    expect(tabs.unreadAlerts).toBe(0);
  });
});
