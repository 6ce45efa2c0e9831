import { describe, expect, test } from 'vitest';
import {
  barGeometry,
  budgetStatus,
  distinctKeys,
  keyScope,
  parseAmount,
  parseCurrency,
  parseMicros,
  parseQuietHours,
  parseThresholds,
} from './budgets';

describe('parseMicros', () => {
  test('decimal strings become exact micro-units', () => {
    expect(parseMicros('12.345678')).toBe(12_345_678n);
    expect(parseMicros('50')).toBe(50_000_000n);
    expect(parseMicros('0.5')).toBe(500_000n);
    expect(parseMicros('-0.250000')).toBe(-250_000n);
    expect(parseMicros('123456789012345.675000')).toBe(123_456_789_012_345_675_000n);
  });

  test('digits past six decimals are dropped; non-numbers are null', () => {
    expect(parseMicros('1.0000009')).toBe(1_000_000n);
    expect(parseMicros('')).toBeNull();
    expect(parseMicros('1e3')).toBeNull();
    expect(parseMicros('USD 5')).toBeNull();
  });
});

describe('budgetStatus', () => {
  const defaults = [50, 80, 100];

  test('percent is rounded down, so 100 % shows only once the amount is spent', () => {
    expect(budgetStatus('99.999999', '100.000000', defaults)).toEqual({ percent: 99, passed: 80, level: 'warn' });
    expect(budgetStatus('100.000000', '100.000000', defaults)).toEqual({ percent: 100, passed: 100, level: 'over' });
  });

  test('levels: under every threshold, past one, over the amount', () => {
    expect(budgetStatus('10', '100', defaults)).toEqual({ percent: 10, passed: null, level: 'ok' });
    expect(budgetStatus('50', '100', defaults)).toEqual({ percent: 50, passed: 50, level: 'warn' });
    expect(budgetStatus('250.5', '100', defaults)).toEqual({ percent: 250, passed: 100, level: 'over' });
  });

  test('exact at a threshold on amounts a float would get wrong', () => {
    // 0.1 + 0.2 style: 30 % of 0.3 is 0.09 exactly.
    expect(budgetStatus('0.090000', '0.300000', [30])?.passed).toBe(30);
    expect(budgetStatus('0.089999', '0.300000', [30])?.passed).toBeNull();
  });

  test('thresholds above 100 % and a budget with none', () => {
    expect(budgetStatus('130', '100', [100, 150])).toEqual({ percent: 130, passed: 100, level: 'over' });
    expect(budgetStatus('60', '100', [])).toEqual({ percent: 60, passed: null, level: 'ok' });
  });

  test('negative spend (refunds) counts as nothing; unusable amounts give null', () => {
    expect(budgetStatus('-5', '100', defaults)).toEqual({ percent: 0, passed: null, level: 'ok' });
    expect(budgetStatus('5', '0', defaults)).toBeNull();
    expect(budgetStatus('five', '100', defaults)).toBeNull();
  });
});

describe('barGeometry', () => {
  test('the bar spans 100 % or the highest threshold, and the fill is capped at its end', () => {
    expect(barGeometry(40, [50, 80, 100])).toEqual({
      scale: 100,
      fill: 0.4,
      ticks: [
        { threshold: 50, at: 0.5 },
        { threshold: 80, at: 0.8 },
        { threshold: 100, at: 1 },
      ],
    });
    const wide = barGeometry(100, [100, 200]);
    expect(wide.scale).toBe(200);
    expect(wide.fill).toBe(0.5);
    expect(wide.ticks.map((t) => t.at)).toEqual([0.5, 1]);
    expect(barGeometry(900, [50]).fill).toBe(1);
    expect(barGeometry(30, []).scale).toBe(100);
  });
});

describe('form parsing', () => {
  test('thresholds: commas, spaces and % signs; empty means the default', () => {
    expect(parseThresholds('50, 80, 100')).toEqual({ ok: true, value: [50, 80, 100] });
    expect(parseThresholds('25% 75%')).toEqual({ ok: true, value: [25, 75] });
    expect(parseThresholds('  ')).toEqual({ ok: true, value: undefined });
    // Order and range are left to the core, which explains them.
    expect(parseThresholds('100, 50')).toEqual({ ok: true, value: [100, 50] });
  });

  test('thresholds: anything but whole percentages is refused with the offending part', () => {
    const result = parseThresholds('50, 80.5, 100');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/"80\.5" is not a whole percentage/);
    expect(parseThresholds('fifty').ok).toBe(false);
  });

  test('amount: plain decimals; zero passes (the core explains why it is refused)', () => {
    expect(parseAmount(' 12.50 ')).toEqual({ ok: true, value: '12.50' });
    expect(parseAmount('0')).toEqual({ ok: true, value: '0' });
    expect(parseAmount('').ok).toBe(false);
    expect(parseAmount('$5').ok).toBe(false);
    expect(parseAmount('1,000').ok).toBe(false);
    expect(parseAmount('-3').ok).toBe(false);
  });

  test('currency: upper-cased code, USD when empty', () => {
    expect(parseCurrency('eur')).toEqual({ ok: true, value: 'EUR' });
    expect(parseCurrency('')).toEqual({ ok: true, value: 'USD' });
    expect(parseCurrency('dollars').ok).toBe(false);
  });

  test('quiet hours: HH:MM-HH:MM, wrapping midnight allowed, empty clears', () => {
    expect(parseQuietHours('22:00-07:00')).toEqual({ ok: true, value: '22:00-07:00' });
    expect(parseQuietHours('22:00 – 07:30')).toEqual({ ok: true, value: '22:00-07:30' });
    expect(parseQuietHours('')).toEqual({ ok: true, value: '' });
    expect(parseQuietHours('24:00-07:00').ok).toBe(false);
    expect(parseQuietHours('10pm-7am').ok).toBe(false);
    expect(parseQuietHours('22:00').ok).toBe(false);
  });
});

test('keyScope and distinctKeys: one entry per source and key, named when any row names it', () => {
  expect(keyScope('work', 'key_123')).toBe('key:work/key_123');
  const rows = [
    { source: 'work', key_id: 'k2', key_name: null },
    { source: 'work', key_id: 'k2', key_name: 'Batch' },
    { source: 'work', key_id: 'k1', key_name: 'Production' },
    { source: 'alpha', key_id: 'k2', key_name: null },
    { source: 'work', key_id: null, key_name: null },
    { source: null, key_id: 'k9', key_name: null },
  ];
  expect(distinctKeys(rows)).toEqual([
    { source: 'alpha', key_id: 'k2', key_name: null },
    { source: 'work', key_id: 'k2', key_name: 'Batch' },
    { source: 'work', key_id: 'k1', key_name: 'Production' },
  ]);
});
