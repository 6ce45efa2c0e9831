// Presentation helpers for the gateway checklist (pure, unit-testable).
import type { Answer } from './bindings/Answer';
import type { AssessmentView } from './bindings/AssessmentView';
import type { ErrorShape } from './bindings/ErrorShape';
import type { EvidenceView } from './bindings/EvidenceView';
import type { VerdictLevel } from './bindings/VerdictLevel';
import { formatMoney } from './format';

export const ANSWERS: { value: Answer; label: string }[] = [
  { value: 'pass', label: 'Pass' },
  { value: 'fail', label: 'Fail' },
  { value: 'unknown', label: 'Unknown' },
  { value: 'na', label: 'Not applicable' },
];

/** A short label and the badge class for a verdict level. */
export function verdictBadge(level: VerdictLevel): { label: string; cls: string } {
  switch (level) {
    case 'do_not_use':
      return { label: 'Do not use', cls: 'failed' };
    case 'incomplete':
      return { label: 'Incomplete', cls: 'neutral' };
    case 'not_proven':
      return { label: 'Not proven', cls: 'warn' };
    case 'usable_unauthorized':
      return { label: 'Usable, not authorized', cls: 'warn' };
    case 'authorized':
      return { label: 'Authorization evidenced', cls: 'ok' };
  }
}

/** Integer micro-units as a decimal string, by integer arithmetic only: 1234 -> "0.001234". */
export function microsToDecimal(micros: number): string {
  const value = BigInt(micros);
  const abs = value < 0n ? -value : value;
  const frac = String(abs % 1_000_000n).padStart(6, '0');
  return `${value < 0n ? '-' : ''}${abs / 1_000_000n}.${frac}`;
}

/** Micro-units of a currency as money on screen (formatMoney): 252 -> "USD 0.000252". */
export function formatMicros(micros: number | null, currency = 'USD', locale?: string): string {
  if (micros === null) return '—';
  return formatMoney(microsToDecimal(micros), currency, locale);
}

/** Basis points as a multiplier: 12500 -> "1.25×". */
export function formatMultiplier(bp: number | null): string {
  return bp === null ? '—' : `${(bp / 10_000).toFixed(2)}×`;
}

export function shortSha(sha: string | null): string {
  return sha ? sha.slice(0, 12) : '';
}

export function evidenceLabel(e: EvidenceView): string {
  if (e.kind === 'url') return e.url ?? '';
  if (e.kind === 'note') return e.note ?? '';
  return e.name ?? 'file';
}

export function evidenceKindLabel(e: EvidenceView): string {
  switch (e.kind) {
    case 'file':
      return 'File';
    case 'url':
      return 'URL';
    case 'note':
      return 'Note';
    case 'smoke':
      return 'Paid test';
  }
}

export function progress(view: Pick<AssessmentView, 'steps'>): { answered: number; total: number } {
  const questions = view.steps.flatMap((s) => s.questions);
  return { answered: questions.filter((q) => q.answer !== null).length, total: questions.length };
}

/** "2026-03-02T12:00:00Z" -> "2026-03-02 12:00 UTC". */
export function formatUtc(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** How an error body came back, in words. */
export function errorShapeLabel(shape: ErrorShape): string {
  switch (shape) {
    case 'json_error_message':
      return 'OpenAI-style JSON error';
    case 'json_other':
      return 'JSON of another shape';
    case 'html':
      return 'an HTML page';
    case 'text':
      return 'plain text';
    case 'empty':
      return 'an empty body';
    case 'no_error':
      return 'no error: the request succeeded when it should have failed';
    case 'no_response':
      return 'no answer (timeout or connection error)';
  }
}
