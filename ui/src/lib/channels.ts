// Alert channels in words and forms: labels for each kind, the add form's checks and the
// request it sends, and one line per delivery for the alert history. No Svelte here, so the
// rules are unit-tested.
import { formatTimestamp } from './format';
import type { AddChannelRequest } from './bindings/AddChannelRequest';
import type { AlertKind } from './bindings/AlertKind';
import type { ChannelDelivery } from './bindings/ChannelDelivery';
import type { ChannelKind } from './bindings/ChannelKind';
import type { ChannelView } from './bindings/ChannelView';
import type { SmtpTls } from './bindings/SmtpTls';

export interface ChannelKindInfo {
  kind: ChannelKind;
  label: string;
  /** What the channel's secret is, when it has one that is a URL. */
  url?: { label: string; placeholder: string; help: string };
}

export const CHANNEL_KINDS: readonly ChannelKindInfo[] = [
  {
    kind: 'webhook',
    label: 'Webhook (JSON POST)',
    url: {
      label: 'Webhook URL',
      placeholder: 'https://hooks.example.com/burnrate/…',
      help: 'Burnrate POSTs a JSON body with an Idempotency-Key header; retries never count twice.',
    },
  },
  {
    kind: 'slack',
    label: 'Slack',
    url: {
      label: 'Slack incoming-webhook URL',
      placeholder: 'https://hooks.slack.com/services/…',
      help: 'Create one under the Slack app’s Incoming Webhooks; it posts to one channel.',
    },
  },
  {
    kind: 'discord',
    label: 'Discord',
    url: {
      label: 'Discord webhook URL',
      placeholder: 'https://discord.com/api/webhooks/…',
      help: 'Channel settings → Integrations → Webhooks → Copy Webhook URL.',
    },
  },
  {
    kind: 'ntfy',
    label: 'ntfy (phone push)',
    url: {
      label: 'ntfy topic URL',
      placeholder: 'https://ntfy.sh/your-secret-topic',
      help: 'The topic’s name is its password: pick a long one. A self-hosted server works the same.',
    },
  },
  { kind: 'email', label: 'E-mail (SMTP)' },
  { kind: 'exec', label: 'Run a command' },
];

export function channelKindLabel(kind: ChannelKind): string {
  return CHANNEL_KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

/** The alert kinds a channel can subscribe to, in the order the form lists them. */
export const ALERT_KINDS: readonly AlertKind[] = ['threshold', 'forecast', 'spike', 'price_drift', 'terms_changed', 'source_stale'];

/** Where the channel's secret is kept, in words. */
export function channelSecretLabel(channel: Pick<ChannelView, 'kind' | 'secret_storage' | 'secret_env_var'>): string {
  const what = channel.kind === 'email' ? 'SMTP password' : 'URL';
  switch (channel.secret_storage) {
    case 'keyring':
      return `${what} in the OS secret store`;
    case 'env':
      return `${what} read from $${channel.secret_env_var ?? '?'}`;
    default:
      return channel.kind === 'email' ? 'No SMTP login' : 'No secret';
  }
}

/** What the add form holds; every field is text as typed. */
export interface ChannelForm {
  kind: ChannelKind;
  name: string;
  /** Where the URL or SMTP password comes from. */
  secretMode: 'secret' | 'env';
  secret: string;
  envVar: string;
  /** Every alert kind, or only `kinds`. */
  allKinds: boolean;
  kinds: AlertKind[];
  quietHours: boolean;
  smtpHost: string;
  smtpPort: string;
  smtpTls: SmtpTls;
  smtpUser: string;
  from: string;
  /** Recipients, separated by commas, semicolons or new lines. */
  to: string;
  command: string;
  timeoutSeconds: string;
}

export type ChannelField =
  | 'name'
  | 'secret'
  | 'kinds'
  | 'smtpHost'
  | 'smtpPort'
  | 'smtpUser'
  | 'from'
  | 'to'
  | 'command'
  | 'timeoutSeconds';

export function emptyChannelForm(kind: ChannelKind = 'webhook'): ChannelForm {
  return {
    kind,
    name: '',
    secretMode: 'secret',
    secret: '',
    envVar: '',
    allKinds: true,
    kinds: [...ALERT_KINDS],
    quietHours: false,
    smtpHost: '',
    smtpPort: '',
    smtpTls: 'starttls',
    smtpUser: '',
    from: '',
    to: '',
    command: '',
    timeoutSeconds: '',
  };
}

const NAME = /^[\p{L}\p{N} ._-]{1,64}$/u;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ADDRESS = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** "a@example.com" or "Ops <a@example.com>". */
function isMailbox(text: string): boolean {
  const named = /^[^<>]*<([^<>]+)>$/.exec(text);
  return ADDRESS.test(named ? named[1].trim() : text);
}

export type ChannelFormResult =
  | { ok: true; request: AddChannelRequest }
  | { ok: false; errors: Partial<Record<ChannelField, string>> };

/** Recipients as typed ("a@x.org, b@x.org" or one per line), trimmed, empties dropped. */
export function splitRecipients(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Checks the form the way the core will, so the user hears of a mistake next to the field,
 * and builds the request. The core checks again (and owns the rules); this only saves a trip.
 */
export function channelRequest(form: ChannelForm): ChannelFormResult {
  const errors: Partial<Record<ChannelField, string>> = {};
  const name = form.name.trim();
  if (name === '') {
    errors.name = 'Give the channel a name, e.g. oncall.';
  } else if (!NAME.test(name)) {
    errors.name = 'Up to 64 letters, digits, spaces, “.”, “_” or “-” (e.g. oncall).';
  }
  const info = CHANNEL_KINDS.find((k) => k.kind === form.kind);
  const secretText = form.secretMode === 'secret' ? form.secret.trim() : form.envVar.trim();
  const wantsSecret = info?.url !== undefined || (form.kind === 'email' && form.smtpUser.trim() !== '');

  if (wantsSecret) {
    if (form.secretMode === 'env' && !ENV_VAR.test(secretText)) {
      errors.secret =
        secretText === ''
          ? 'Enter the name of the environment variable that holds it.'
          : `“${secretText}” is not a variable name: letters, digits and “_”, not starting with a digit.`;
    } else if (form.secretMode === 'secret' && secretText === '') {
      errors.secret = info?.url ? `Paste the ${info.url.label}.` : 'Enter the SMTP password for this login.';
    } else if (form.secretMode === 'secret' && info?.url && !/^https?:\/\/[^/\s]+/i.test(secretText)) {
      errors.secret = 'A URL starting with https:// (http:// only for a server on this machine).';
    }
  }

  let email: AddChannelRequest['email'];
  if (form.kind === 'email') {
    const host = form.smtpHost.trim();
    if (host === '' || /[\s/:]/.test(host)) {
      errors.smtpHost = 'The SMTP server’s host name only, e.g. smtp.example.com (the port has its own field).';
    } else if (form.smtpTls === 'none' && !LOOPBACK.test(host)) {
      errors.smtpHost = `Without encryption the password and alerts would cross the network in clear text; choose STARTTLS or TLS for ${host} (plain SMTP is only for a relay on this machine).`;
    }
    let port: number | undefined;
    if (form.smtpPort.trim() !== '') {
      port = Number(form.smtpPort.trim());
      if (!Number.isInteger(port) || port < 1 || port > 65535) errors.smtpPort = 'A port from 1 to 65535, or empty.';
    }
    const from = form.from.trim();
    if (!isMailbox(from)) errors.from = 'The sender’s address, e.g. burnrate@example.com.';
    const to = splitRecipients(form.to);
    const badTo = to.find((t) => !isMailbox(t));
    if (to.length === 0) errors.to = 'At least one recipient.';
    else if (badTo) errors.to = `“${badTo}” is not an e-mail address.`;
    const username = form.smtpUser.trim();
    email = { host, tls: form.smtpTls, from, to };
    if (port !== undefined) email.port = port;
    if (username !== '') email.username = username;
  }

  let exec: AddChannelRequest['exec'];
  if (form.kind === 'exec') {
    const command = form.command.trim();
    if (command === '') errors.command = 'The command to run, e.g. /usr/local/bin/page-me.';
    else if (/[\r\n\0]/.test(command)) errors.command = 'Give the command on one line.';
    let timeout: number | undefined;
    if (form.timeoutSeconds.trim() !== '') {
      timeout = Number(form.timeoutSeconds.trim());
      if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600) {
        errors.timeoutSeconds = 'From 1 to 600 seconds, or empty for 30.';
      }
    }
    exec = { command };
    if (timeout !== undefined) exec.timeout_seconds = timeout;
  }

  if (!form.allKinds && form.kinds.length === 0) errors.kinds = 'Choose at least one kind of alert.';

  if (Object.keys(errors).length > 0) return { ok: false, errors };

  const request: AddChannelRequest = { kind: form.kind, name, quiet_hours: form.quietHours };
  if (wantsSecret) {
    request.secret = form.secretMode === 'secret' ? { kind: 'secret', value: secretText } : { kind: 'env', var: secretText };
  }
  // Only a subset is sent: "all" stays all when new kinds of alert appear later.
  if (!form.allKinds) request.alert_kinds = ALERT_KINDS.filter((k) => form.kinds.includes(k));
  if (email) request.email = email;
  if (exec) request.exec = exec;
  return { ok: true, request };
}

/** One line for an alert's delivery to one channel, e.g. "oncall: delivered 08:41". */
export function deliveryLine(delivery: ChannelDelivery, locale?: string): string {
  const again = delivery.round > 0 ? ` (announced again, #${delivery.round + 1})` : '';
  switch (delivery.state) {
    case 'delivered':
      return `${delivery.channel}${again}: delivered${delivery.delivered_at ? ` ${formatTimestamp(delivery.delivered_at, locale)}` : ''}`;
    case 'pending': {
      const tried = delivery.attempts > 0 ? `, ${delivery.attempts} ${delivery.attempts === 1 ? 'attempt' : 'attempts'} so far` : '';
      const next = delivery.next_attempt_at ? `; next try ${formatTimestamp(delivery.next_attempt_at, locale)}` : '';
      const why = delivery.last_error ? ` — ${delivery.last_error}` : '';
      return `${delivery.channel}${again}: waiting${tried}${next}${why}`;
    }
    case 'failed':
      return `${delivery.channel}${again}: gave up after ${delivery.attempts} attempts — ${delivery.last_error ?? 'no reason recorded'}`;
  }
}
