import { describe, expect, test } from 'vitest';
import { formatClock, formatMoney, formatUntil, keyStorageLabel, pollStateLabel, suggestedEnvVar } from './format';

describe('formatMoney', () => {
  test('two decimals with the currency code, in the given locale', () => {
    expect(formatMoney('12.345678', 'USD', 'en-US').replace(/\s/g, ' ')).toBe('USD 12.35');
    expect(formatMoney('1234.5', 'EUR', 'de-DE').replace(/\s/g, ' ')).toBe('1.234,50 EUR');
    expect(formatMoney('0.000000', 'USD', 'en-US').replace(/\s/g, ' ')).toBe('USD 0.00');
  });

  test('the decimal string is rounded exactly, not through a float', () => {
    // As a double, 1.005 is 1.00499999…, which would round down to 1.00.
    expect(formatMoney('1.005000', 'USD', 'en-US').replace(/\s/g, ' ')).toBe('USD 1.01');
    expect(formatMoney('123456789012345.675000', 'USD', 'en-US').replace(/\s/g, ' ')).toBe('USD 123,456,789,012,345.68');
  });

  test('a unit that is not an ISO currency is appended', () => {
    expect(formatMoney('3.5', 'credits', 'en-US')).toBe('3.50 credits');
  });
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
