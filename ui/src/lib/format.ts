import type { AlertKind } from './bindings/AlertKind';
import type { AlertView } from './bindings/AlertView';
import type { BudgetPeriod } from './bindings/BudgetPeriod';
import type { BudgetView } from './bindings/BudgetView';
import type { PollState } from './bindings/PollState';
import type { SettingsView } from './bindings/SettingsView';
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
