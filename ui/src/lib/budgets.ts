// Budget arithmetic for display and the add-budget form's own checks. Money stays exact:
// amounts are decimal strings from the core, compared as integer micro-units (BigInt).
// The core validates every request again; these checks only catch typing slips early.

const MICROS_PER_UNIT = 1_000_000n;

/**
 * A decimal string such as "12.5" or "-0.250000" as integer micro-units; digits past the sixth
 * decimal are dropped (the core never sends more). Null when it is not a decimal number.
 */
export function parseMicros(decimal: string): bigint | null {
  const match = /^(-)?(\d+)(?:\.(\d*))?$/.exec(decimal.trim());
  if (!match) return null;
  const [, minus, whole, fraction = ''] = match;
  const micros = BigInt(whole) * MICROS_PER_UNIT + BigInt(fraction.slice(0, 6).padEnd(6, '0'));
  return minus ? -micros : micros;
}

export type BudgetLevel = 'ok' | 'warn' | 'over';

export interface BudgetStatus {
  /** Whole percent of the amount spent, rounded down (99.9 % is 99, never "100 %" early). */
  percent: number;
  /** The highest threshold reached, if any. */
  passed: number | null;
  /** `over` once the whole amount is spent, `warn` past any lower threshold. */
  level: BudgetLevel;
}

/** Null when either amount is not a decimal or the budget amount is not positive. */
export function budgetStatus(spent: string, amount: string, thresholds: readonly number[]): BudgetStatus | null {
  const spentMicros = parseMicros(spent);
  const amountMicros = parseMicros(amount);
  if (spentMicros === null || amountMicros === null || amountMicros <= 0n) return null;
  const clamped = spentMicros < 0n ? 0n : spentMicros;
  const percent = Number((clamped * 100n) / amountMicros);
  // Exact comparison: spent ≥ amount × t / 100.
  const reached = thresholds.filter((t) => clamped * 100n >= amountMicros * BigInt(t));
  const passed = reached.length > 0 ? Math.max(...reached) : null;
  const level: BudgetLevel = clamped >= amountMicros ? 'over' : passed !== null ? 'warn' : 'ok';
  return { percent, passed, level };
}

export interface BarGeometry {
  /** The percent the full width of the bar stands for: 100, or the highest threshold above it. */
  scale: number;
  /** Filled share of the bar, 0–1 (capped at the full width). */
  fill: number;
  /** Where each threshold's tick sits, 0–1, with its percent. */
  ticks: { threshold: number; at: number }[];
}

export function barGeometry(percent: number, thresholds: readonly number[]): BarGeometry {
  const scale = Math.max(100, ...thresholds);
  return {
    scale,
    fill: Math.min(Math.max(percent, 0), scale) / scale,
    ticks: thresholds.map((threshold) => ({ threshold, at: threshold / scale })),
  };
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * "50, 80, 100" (commas or spaces, an optional % each) as whole percentages; empty means
 * the core's default. Order and range (ascending, 1–1000) are the core's to judge.
 */
export function parseThresholds(text: string): Parsed<number[] | undefined> {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) return { ok: true, value: undefined };
  const values: number[] = [];
  for (const part of parts) {
    const match = /^(\d{1,4})%?$/.exec(part);
    if (!match) {
      return { ok: false, error: `"${part}" is not a whole percentage. Write thresholds like 50, 80, 100.` };
    }
    values.push(Number(match[1]));
  }
  return { ok: true, value: values };
}

/** The amount as the core accepts it (a plain decimal such as 50 or 12.50), trimmed. */
export function parseAmount(text: string): Parsed<string> {
  const value = text.trim();
  if (value === '') return { ok: false, error: 'Enter the budget amount, for example 50.' };
  if (!/^\d+(\.\d+)?$/.test(value)) {
    return { ok: false, error: `"${value}" is not an amount. Write it like 50 or 12.50, without a currency sign.` };
  }
  return { ok: true, value };
}

/** A three-letter currency code in upper case; empty means USD. */
export function parseCurrency(text: string): Parsed<string> {
  const value = text.trim().toUpperCase();
  if (value === '') return { ok: true, value: 'USD' };
  if (!/^[A-Z]{3}$/.test(value)) return { ok: false, error: `"${text.trim()}" is not a currency code such as USD or EUR.` };
  return { ok: true, value };
}

/** `HH:MM-HH:MM` (24-hour, may wrap midnight), or empty for none. */
export function parseQuietHours(text: string): Parsed<string> {
  const value = text.trim().replace(/\s*[–—-]\s*/, '-');
  if (value === '') return { ok: true, value: '' };
  const time = '(?:[01]\\d|2[0-3]):[0-5]\\d';
  if (!new RegExp(`^${time}-${time}$`).test(value)) {
    return { ok: false, error: `"${text.trim()}" is not a range like 22:00-07:00 (24-hour clock).` };
  }
  return { ok: true, value };
}

/** A budget scope for a key as the core reads it: `key:SOURCE/KEY_ID`. */
export function keyScope(source: string, keyId: string): string {
  return `key:${source}/${keyId}`;
}

/** Unique (source, key) pairs of a report by key and source, with the key's latest name. */
export function distinctKeys(
  rows: readonly { source: string | null; key_id: string | null; key_name: string | null }[],
): { source: string; key_id: string; key_name: string | null }[] {
  const seen = new Map<string, { source: string; key_id: string; key_name: string | null }>();
  for (const row of rows) {
    if (row.source === null || row.key_id === null) continue;
    const id = `${row.source}/${row.key_id}`;
    const known = seen.get(id);
    if (!known) seen.set(id, { source: row.source, key_id: row.key_id, key_name: row.key_name });
    else if (known.key_name === null && row.key_name !== null) known.key_name = row.key_name;
  }
  return [...seen.values()].sort(
    (a, b) => a.source.localeCompare(b.source) || (a.key_name ?? a.key_id).localeCompare(b.key_name ?? b.key_id),
  );
}
