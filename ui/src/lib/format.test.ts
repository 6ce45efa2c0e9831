import { describe, expect, test } from 'vitest';
import {
  alertsPausedUntil,
  budgetScopeLabel,
  deliveryText,
  formatClock,
  formatDayRange,
  formatMoney,
  formatMoneyInText,
  formatUntil,
  keyLabel,
  keyStorageLabel,
  parseMoney,
  periodLabel,
  pollStateLabel,
  suggestedEnvVar,
} from './format';

const plain = (text: string) => text.replace(/\s/g, ' ');

describe('formatMoney', () => {
  test('two decimals with the currency code, in the given locale', () => {
    expect(plain(formatMoney('12.345678', 'USD', 'en-US'))).toBe('USD 12.35');
    expect(plain(formatMoney('1234.5', 'EUR', 'de-DE'))).toBe('1.234,50 EUR');
    expect(plain(formatMoney('199.041131', 'USD', 'en-US'))).toBe('USD 199.04');
    expect(plain(formatMoney('100.000000', 'USD', 'en-US'))).toBe('USD 100.00');
    expect(plain(formatMoney('7', 'JPY', 'en-US'))).toBe('JPY 7.00');
  });

  test('thousands separators come from the locale', () => {
    expect(plain(formatMoney('1234567.891000', 'USD', 'en-US'))).toBe('USD 1,234,567.89');
    expect(plain(formatMoney('1234567.891000', 'EUR', 'de-DE'))).toBe('1.234.567,89 EUR');
  });

  test('zero is two zero decimals, whatever its sign or length', () => {
    expect(plain(formatMoney('0.000000', 'USD', 'en-US'))).toBe('USD 0.00');
    expect(plain(formatMoney('0', 'USD', 'en-US'))).toBe('USD 0.00');
    expect(plain(formatMoney('-0.000000', 'USD', 'en-US'))).toBe('USD 0.00');
  });

  test('under one cent keeps up to six decimals, trimmed to at least two', () => {
    expect(plain(formatMoney('0.000252', 'USD', 'en-US'))).toBe('USD 0.000252');
    expect(plain(formatMoney('0.001500', 'USD', 'en-US'))).toBe('USD 0.0015');
    expect(plain(formatMoney('0.009999', 'USD', 'en-US'))).toBe('USD 0.009999');
    expect(plain(formatMoney('0.000001', 'EUR', 'de-DE'))).toBe('0,000001 EUR');
    // From one cent up, two decimals.
    expect(plain(formatMoney('0.010000', 'USD', 'en-US'))).toBe('USD 0.01');
    expect(plain(formatMoney('0.019999', 'USD', 'en-US'))).toBe('USD 0.02');
    expect(plain(formatMoney('1.000252', 'USD', 'en-US'))).toBe('USD 1.00');
  });

  test('negative amounts keep their sign', () => {
    expect(plain(formatMoney('-0.500000', 'USD', 'en-US'))).toBe('-USD 0.50');
    expect(plain(formatMoney('-1234.5', 'USD', 'en-US'))).toBe('-USD 1,234.50');
    expect(plain(formatMoney('-0.000001', 'USD', 'en-US'))).toBe('-USD 0.000001');
  });

  test('the decimal string is rounded exactly, not through a float', () => {
    // As a double, 1.005 is 1.00499999…, which would round down to 1.00.
    expect(plain(formatMoney('1.005000', 'USD', 'en-US'))).toBe('USD 1.01');
    expect(plain(formatMoney('123456789012345.675000', 'USD', 'en-US'))).toBe('USD 123,456,789,012,345.68');
  });

  test('a unit that is not an ISO currency is appended', () => {
    expect(formatMoney('3.5', 'credits', 'en-US')).toBe('3.50 credits');
    expect(formatMoney('12345.678', 'credits', 'en-US')).toBe('12,345.68 credits');
    expect(formatMoney('0.000300', 'credits', 'en-US')).toBe('0.0003 credits');
    expect(formatMoney('-2', 'credits', 'en-US')).toBe('-2.00 credits');
  });

  test('no unit, or no decimal: shown without inventing one', () => {
    expect(formatMoney('2.5', '', 'en-US')).toBe('2.50');
    expect(formatMoney('n/a', 'USD', 'en-US')).toBe('n/a USD');
  });
});

test('parseMoney splits the core\'s "<amount> <CODE>"', () => {
  expect(parseMoney('100.000000 USD')).toEqual({ amount: '100.000000', currency: 'USD' });
  expect(parseMoney('-5 credits')).toEqual({ amount: '-5', currency: 'credits' });
  expect(parseMoney('monthly budget of 100.00 USD')).toBeNull();
  expect(parseMoney('USD')).toBeNull();
});

test('formatMoneyInText formats the amounts of a sentence in its currency only', () => {
  expect(plain(formatMoneyInText('85.00 USD spent of the monthly budget of 100.00 USD for January 2026.', 'USD', 'en-US'))).toBe(
    'USD 85.00 spent of the monthly budget of USD 100.00 for January 2026.',
  );
  expect(plain(formatMoneyInText('At 0.000250 USD a day (last 7 days), 1.25 EUR, 3.50 USDC.', 'USD', 'en-US'))).toBe(
    'At USD 0.00025 a day (last 7 days), 1.25 EUR, 3.50 USDC.',
  );
  expect(formatMoneyInText('1234.5 credits left', 'credits', 'en-US')).toBe('1,234.50 credits left');
  expect(formatMoneyInText('12.00 USD', '', 'en-US')).toBe('12.00 USD');
});

test('keyStorageLabel', () => {
  expect(keyStorageLabel({ key_storage: 'keyring', key_env_var: null })).toBe('OS secret store');
  expect(keyStorageLabel({ key_storage: 'env', key_env_var: 'OPENAI_ADMIN_KEY' })).toBe('env $OPENAI_ADMIN_KEY');
});

test('suggestedEnvVar', () => {
  expect(suggestedEnvVar('openrouter')).toBe('OPENROUTER_API_KEY');
  expect(suggestedEnvVar('custom-json')).toBe('CUSTOM_JSON_API_KEY');
});

describe('formatUntil', () => {
  const now = Date.parse('2026-01-14T09:00:00Z');
  test('minutes, hours and days ahead', () => {
    expect(formatUntil('2026-01-14T09:12:00Z', now)).toBe('in 12 min');
    expect(formatUntil('2026-01-14T09:00:40Z', now)).toBe('in 1 min');
    expect(formatUntil('2026-01-14T11:00:00Z', now)).toBe('in 2 h');
    expect(formatUntil('2026-01-14T11:05:00Z', now)).toBe('in 2 h 5 min');
    expect(formatUntil('2026-01-15T09:00:00Z', now)).toBe('in 1 day');
    expect(formatUntil('2026-01-17T10:00:00Z', now)).toBe('in 3 days');
  });

  test('a time that has come is due now; garbage is null', () => {
    expect(formatUntil('2026-01-14T09:00:10Z', now)).toBe('due now');
    expect(formatUntil('2026-01-14T08:00:00Z', now)).toBe('due now');
    expect(formatUntil('soon', now)).toBeNull();
  });
});

test('formatClock shows only the time on the same day', () => {
  const now = Date.parse('2026-01-14T12:00:00Z');
  expect(formatClock('2026-01-14T12:30:00Z', now, 'en-US')).not.toMatch(/2026/);
  expect(formatClock('2026-01-16T12:30:00Z', now, 'en-US')).toMatch(/Jan 16, 2026/);
  expect(formatClock('nope', now)).toBe('nope');
});

test('pollStateLabel', () => {
  expect(pollStateLabel('scheduled')).toBe('scheduled');
  expect(pollStateLabel('backing_off')).toBe('backing off');
  expect(pollStateLabel('paused')).toBe('paused');
  expect(pollStateLabel('syncing')).toBe('syncing');
});

describe('budget and alert labels', () => {
  test('periodLabel', () => {
    expect(periodLabel('day')).toBe('Daily');
    expect(periodLabel('week')).toBe('Weekly');
    expect(periodLabel('month')).toBe('Monthly');
  });

  test('formatDayRange shows calendar days as written, whatever the offset', () => {
    expect(formatDayRange('2026-01-01', '2026-01-31', 'en-US')).toMatch(/^Jan 1\s*–\s*31, 2026$/);
    expect(formatDayRange('2026-01-12', '2026-01-12', 'en-US')).toBe('Jan 12, 2026');
    expect(formatDayRange('2025-12-29', '2026-01-04', 'en-US')).toMatch(/Dec 29, 2025\s*–\s*Jan 4, 2026/);
    expect(formatDayRange('soon', 'later')).toBe('soon – later');
  });

  test('budgetScopeLabel', () => {
    const base = { scope: 'total', scope_kind: 'total' as const, source: null, key_id: null, key_name: null };
    expect(budgetScopeLabel(base)).toBe('All sources');
    expect(budgetScopeLabel({ ...base, scope: 'source:work', scope_kind: 'source', source: 'work' })).toBe('Source work');
    expect(
      budgetScopeLabel({ ...base, scope: 'key:work/k1', scope_kind: 'key', source: 'work', key_id: 'k1', key_name: 'Production (sk-…abcd)' }),
    ).toBe('Key Production (sk-…abcd) · work');
    expect(budgetScopeLabel({ ...base, scope: 'key:work/k1', scope_kind: 'key', source: 'work', key_id: 'k1' })).toBe('Key k1 · work');
  });

  test('deliveryText says when, or why not', () => {
    expect(deliveryText({ notified: true, notified_at: '2026-01-14T09:05:00Z', notify_error: null }, 'en-US')).toMatch(
      /^Shown on the desktop at Jan 14, 2026/,
    );
    expect(deliveryText({ notified: false, notified_at: null, notify_error: 'quiet hours (22:00-07:00)' })).toBe(
      'Not shown on the desktop: quiet hours (22:00-07:00)',
    );
    expect(deliveryText({ notified: false, notified_at: null, notify_error: null })).toBe('Not shown on the desktop');
  });

  test('keyLabel prefers the display name', () => {
    expect(keyLabel({ key_name: 'Production', key_id: 'k1' })).toBe('Production');
    expect(keyLabel({ key_name: null, key_id: 'k1' })).toBe('k1');
  });

  test('alertsPausedUntil only while the pause lasts', () => {
    const now = Date.parse('2026-01-14T09:00:00Z');
    expect(alertsPausedUntil({ alerts_paused_until: '2026-01-14T10:00:00Z' }, now)).toBe('2026-01-14T10:00:00Z');
    expect(alertsPausedUntil({ alerts_paused_until: '2026-01-14T08:59:00Z' }, now)).toBeNull();
    expect(alertsPausedUntil({ alerts_paused_until: null }, now)).toBeNull();
    expect(alertsPausedUntil(null, now)).toBeNull();
  });
});
