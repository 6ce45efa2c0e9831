/** A provider key the user can act on, as the alert and key views know it. */
export interface KeyTarget {
  source: string;
  /** The provider's id of the key (never the key itself). */
  key_id: string;
  key_name: string | null;
  fingerprint: string | null;
  /** The alert the action answers, if it was started from one. */
  alert_id: number | null;
}

/** The key an alert is about, when it is about one key of one source. */
export function alertKey(alert: {
  id: number;
  source: string | null;
  key_id: string | null;
  key_name: string | null;
}): KeyTarget | null {
  if (alert.source === null || alert.key_id === null) return null;
  return { source: alert.source, key_id: alert.key_id, key_name: alert.key_name, fingerprint: null, alert_id: alert.id };
}

export function sameKey(a: { source: string | null; key_id: string | null }, b: { source: string; key_id: string }): boolean {
  return a.source === b.source && a.key_id === b.key_id;
}
