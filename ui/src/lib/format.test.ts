import { describe, expect, test } from 'vitest';
import { formatMoney, keyStorageLabel, suggestedEnvVar } from './format';

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
