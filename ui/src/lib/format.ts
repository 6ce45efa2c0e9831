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
