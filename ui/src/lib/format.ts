import type { PollState } from './bindings/PollState';
import type { SourceView } from './bindings/SourceView';

/**
 * Formats a decimal amount string such as "12.345678" for the user's locale with two
 * decimals and the currency code, e.g. "USD 12.35" or "12,35 EUR". Display only: the string
 * goes to Intl as is (exact decimal in current engines); no arithmetic on money happens here.
 */
export function formatMoney(amount: string, currency: string, locale?: string): string {
  const value = amount as Intl.StringNumericLiteral;
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      currencyDisplay: 'code',
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    }).format(value);
  } catch {
    // Not an ISO 4217 code (e.g. a relay's "credits"): format the number, append the unit.
    const number = new Intl.NumberFormat(locale, {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    }).format(value);
    return `${number} ${currency}`;
  }
}

/** A timestamp from the core (RFC 3339) in the user's locale; the raw text if unparsable. */
export function formatTimestamp(iso: string, locale?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function keyStorageLabel(source: Pick<SourceView, 'key_storage' | 'key_env_var'>): string {
  return source.key_storage === 'env' ? `env $${source.key_env_var ?? '?'}` : 'OS secret store';
}

/** A suggested environment variable name for a provider id, e.g. "new-api" → "NEW_API_API_KEY". */
export function suggestedEnvVar(providerId: string): string {
  return `${providerId.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_KEY`;
}

const MINUTE = 60_000;

/**
 * How long until `iso`, coarsely, for a schedule: "in 12 min", "in 2 h 5 min", "in 3 days",
 * or "due now" once the time has come (a poll about to start). Null if unparsable.
 */
export function formatUntil(iso: string, now: number = Date.now()): string | null {
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return null;
  const minutes = Math.round((at - now) / MINUTE);
  if (minutes <= 0) return 'due now';
  if (minutes < 60) return `in ${minutes} min`;
  if (minutes < 24 * 60) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m === 0 ? `in ${h} h` : `in ${h} h ${m} min`;
  }
  const days = Math.round(minutes / (24 * 60));
  return `in ${days} ${days === 1 ? 'day' : 'days'}`;
}

/** A time of day when `iso` falls on the same local day as `now`, else date and time. */
export function formatClock(iso: string, now: number = Date.now(), locale?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  if (date.toDateString() === new Date(now).toDateString()) {
    return new Intl.DateTimeFormat(locale, { timeStyle: 'short' }).format(date);
  }
  return formatTimestamp(iso, locale);
}

const POLL_STATE_LABELS: Record<PollState, string> = {
  scheduled: 'scheduled',
  syncing: 'syncing',
  backing_off: 'backing off',
  paused: 'paused',
};

export function pollStateLabel(state: PollState): string {
  return POLL_STATE_LABELS[state];
}
