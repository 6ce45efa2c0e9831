import { describe, expect, it } from 'vitest';
import { formatMicros, formatMultiplier, formatUtc, progress, shortSha, verdictBadge } from './checklist';

describe('checklist helpers', () => {
  it('formats micro-USD exactly, without float rounding', () => {
    expect(formatMicros(252)).toBe('0.000252 USD');
    expect(formatMicros(1_500_000)).toBe('1.500000 USD');
    expect(formatMicros(-1)).toBe('-0.000001 USD');
    expect(formatMicros(null)).toBe('—');
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
