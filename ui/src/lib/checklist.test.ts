import { describe, expect, it } from 'vitest';
import { formatMicros, formatMultiplier, microsToDecimal, formatUtc, progress, shortSha, verdictBadge } from './checklist';

describe('checklist helpers', () => {
  it('formats micro-USD exactly, without float rounding', () => {
    const plain = (text: string) => text.replace(/\s/g, ' ');
    expect(plain(formatMicros(252, 'USD', 'en-US'))).toBe('USD 0.000252');
    expect(plain(formatMicros(1_500, 'USD', 'en-US'))).toBe('USD 0.0015');
    expect(plain(formatMicros(1_500_000, 'USD', 'en-US'))).toBe('USD 1.50');
    expect(plain(formatMicros(1_234_567_890_000, 'USD', 'en-US'))).toBe('USD 1,234,567.89');
    expect(plain(formatMicros(-1, 'USD', 'en-US'))).toBe('-USD 0.000001');
    expect(plain(formatMicros(-2_500_000, 'USD', 'en-US'))).toBe('-USD 2.50');
    expect(plain(formatMicros(0, 'USD', 'en-US'))).toBe('USD 0.00');
    expect(formatMicros(2_000_000, 'credits', 'en-US')).toBe('2.00 credits');
    expect(formatMicros(null)).toBe('—');
  });

  it('turns micro-units into a decimal string with integer arithmetic', () => {
    expect(microsToDecimal(252)).toBe('0.000252');
    expect(microsToDecimal(0)).toBe('0.000000');
    expect(microsToDecimal(-1_500_001)).toBe('-1.500001');
    // The largest integer a number holds exactly.
    expect(microsToDecimal(9_007_199_254_740_991)).toBe('9007199254.740991');
  });

  it('shows the multiplier from basis points', () => {
    expect(formatMultiplier(10_000)).toBe('1.00×');
    expect(formatMultiplier(12_500)).toBe('1.25×');
    expect(formatMultiplier(null)).toBe('—');
  });

  it('labels every verdict level', () => {
    expect(verdictBadge('do_not_use')).toEqual({ label: 'Do not use', cls: 'failed' });
    expect(verdictBadge('authorized').cls).toBe('ok');
  });

  it('counts answered questions and shortens hashes and times', () => {
    const q = (answer: 'pass' | null) => ({ id: 'x', text: '', pass_hint: '', hard: false, answer, note: null, answered_at: null, evidence_count: 0 });
    expect(progress({ steps: [{ id: 's', number: 1, title: 'S', questions: [q('pass'), q(null)] }] })).toEqual({ answered: 1, total: 2 });
    expect(shortSha('a'.repeat(64))).toBe('aaaaaaaaaaaa');
    expect(formatUtc('2026-03-02T12:00:00Z')).toBe('2026-03-02 12:00 UTC');
  });
});
