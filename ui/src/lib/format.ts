import type { AlertKind } from './bindings/AlertKind';
import type { AlertView } from './bindings/AlertView';
import type { BudgetPeriod } from './bindings/BudgetPeriod';
import type { BudgetView } from './bindings/BudgetView';
import type { PollState } from './bindings/PollState';
import type { SettingsView } from './bindings/SettingsView';
import type { SourceView } from './bindings/SourceView';

const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?$/;

/**
 * Formats a decimal amount string such as "12.345678" for the user's locale: the currency code
 * and two decimals, e.g. "USD 12.35" or "1.234,50 EUR". An amount under one cent (not zero)
 * keeps up to six decimals, trimmed to at least two: "USD 0.000252", "USD 0.0015". Zero is
 * "USD 0.00"; a negative amount keeps its sign. The only formatter of money on screen.
 *
 * Display only: "under one cent" is read off the string (integer part 0, first two decimals
 * 00), and the string goes to Intl as is (an exact decimal in current engines); no arithmetic
 * on money happens here. A unit that is not an ISO 4217 code (a relay's "credits") follows the
 * number; text that is not a decimal is shown as it came, with the unit.
 */
export function formatMoney(amount: string, currency: string, locale?: string): string {
  const trimmed = amount.trim();
  const parts = DECIMAL.exec(trimmed);
  if (!parts || (parts[2] === '' && (parts[3] ?? '') === '')) return currency ? `${amount} ${currency}` : amount;
  const [, sign, whole, fraction = ''] = parts;
  const zero = !/[1-9]/.test(whole + fraction);
  const subCent = !zero && !/[1-9]/.test(whole) && !/[1-9]/.test(fraction.slice(0, 2));
  // Zero has no sign ("-0.000000" is "USD 0.00"); a plus sign is dropped.
  const value = (zero ? '0' : `${sign === '-' ? '-' : ''}${whole || '0'}.${fraction || '0'}`) as Intl.StringNumericLiteral;
  const digits = { minimumFractionDigits: 2, maximumFractionDigits: subCent ? 6 : 2 };
  if (currency) {
    try {
      return new Intl.NumberFormat(locale, { style: 'currency', currency, currencyDisplay: 'code', ...digits }).format(value);
    } catch {
      // Not an ISO 4217 code: format the number and append the unit, below.
    }
  }
  const number = new Intl.NumberFormat(locale, digits).format(value);
  return currency ? `${number} ${currency}` : number;
}

/** "100.000000 USD" (how the core writes an amount with its unit) as its parts; else null. */
export function parseMoney(text: string): { amount: string; currency: string } | null {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s+(\S+)\s*$/.exec(text);
  return m ? { amount: m[1], currency: m[2] } : null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A sentence from the core with its amounts ("85.00 USD spent of …") in `currency` passed
 * through formatMoney ("USD 85.00 spent of …"); other numbers and other units stay as written.
 */
export function formatMoneyInText(text: string, currency: string, locale?: string): string {
  if (!currency) return text;
  const pattern = new RegExp(`(^|[^\\w.])(-?\\d+\\.\\d+) ${escapeRegExp(currency)}(?![\\w])`, 'g');
  return text.replace(pattern, (_, before: string, amount: string) => `${before}${formatMoney(amount, currency, locale)}`);
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

const PERIOD_LABELS: Record<BudgetPeriod, string> = {
  day: 'Daily',
  week: 'Weekly',
  month: 'Monthly',
};

export function periodLabel(period: BudgetPeriod): string {
  return PERIOD_LABELS[period];
}

/**
 * A budget period's first and last local day (`YYYY-MM-DD`) as a short range, e.g.
 * "Jan 1 – 31, 2026", or one date for a daily budget. The raw text if unparsable.
 */
export function formatDayRange(start: string, end: string, locale?: string): string {
  const from = new Date(`${start}T00:00:00Z`);
  const to = new Date(`${end}T00:00:00Z`);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${start} – ${end}`;
  // The days are calendar dates, not instants: format them in UTC so no offset shifts them.
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  if (start === end) return format.format(from);
  return format.formatRange(from, to);
}

/** Who a budget covers, in words: "All sources", "Source work", "Key Production · work". */
export function budgetScopeLabel(budget: Pick<BudgetView, 'scope_kind' | 'source' | 'key_id' | 'key_name' | 'scope'>): string {
  switch (budget.scope_kind) {
    case 'total':
      return 'All sources';
    case 'source':
      return `Source ${budget.source ?? budget.scope}`;
    case 'key':
      return `Key ${budget.key_name ?? budget.key_id ?? budget.scope}${budget.source ? ` · ${budget.source}` : ''}`;
  }
}

const ALERT_KIND_LABELS: Record<AlertKind, string> = {
  threshold: 'threshold',
  forecast: 'forecast',
  spike: 'spike',
  price_drift: 'price drift',
  terms_changed: 'terms changed',
  source_stale: 'source stopped syncing',
};

export function alertKindLabel(kind: AlertKind): string {
  return ALERT_KIND_LABELS[kind];
}

/** Whether the alert reached the desktop, and when; or why not. */
export function deliveryText(
  alert: Pick<AlertView, 'notified' | 'notified_at' | 'notify_error'>,
  locale?: string,
): string {
  if (alert.notified) {
    return alert.notified_at
      ? `Shown on the desktop at ${formatTimestamp(alert.notified_at, locale)}`
      : 'Shown on the desktop';
  }
  return alert.notify_error ? `Not shown on the desktop: ${alert.notify_error}` : 'Not shown on the desktop';
}

/** A key as people know it: its display name, else the provider's key id. */
export function keyLabel(key: { key_name: string | null; key_id: string }): string {
  return key.key_name ?? key.key_id;
}

/** When alerts are paused until a time still ahead of `now`, that time; else null. */
export function alertsPausedUntil(settings: Pick<SettingsView, 'alerts_paused_until'> | null, now: number = Date.now()): string | null {
  const until = settings?.alerts_paused_until ?? null;
  if (until === null) return null;
  const at = new Date(until).getTime();
  return Number.isNaN(at) || at <= now ? null : until;
}
