// Shared set-up for the browser tests: a Vite dev server serving mock.html, Debian's
// Chromium through playwright-core, and a fake backend in this Node process that answers
// (and records) every IPC command the page makes.
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { after, afterEach, before } from 'node:test';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { Checklist } from './checklist-backend.mjs';

export const UI_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS_DIR = path.join(UI_DIR, 'test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function startVite() {
  const port = await freePort();
  const server = await createServer({
    root: UI_DIR,
    configFile: path.join(UI_DIR, 'vite.config.ts'),
    logLevel: 'error',
    server: { host: '127.0.0.1', port, strictPort: true },
  });
  await server.listen();
  return { server, url: `http://127.0.0.1:${port}` };
}

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export function resultsPath(name) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return path.join(RESULTS_DIR, name);
}

// ---------------------------------------------------------------------------------------
// Fake backend

export const PROVIDERS = [
  {
    id: 'openai',
    label: 'OpenAI',
    default_base_url: 'https://api.openai.com/v1',
    key_kind: 'Admin API key (sk-admin-…); project keys cannot read organization costs',
    key_help: 'platform.openai.com → Organization settings → Admin keys (read-only scope is enough)',
    least_privilege: 'Use a key for Burnrate alone, with read-only permissions where the provider offers them.',
    can_sync: true,
    settings: [],
    note: 'OpenAI bills per key and project but not per model: amounts per model are estimates from tokens × list price.',
    disable_key: 'irreversible',
    revoke_help: 'platform.openai.com → Settings → Project → API keys → Revoke secret key',
  },
  {
    id: 'anthropic',
    label: 'Anthropic',
    default_base_url: 'https://api.anthropic.com',
    key_kind: 'Admin API key (sk-ant-admin…); standard API keys cannot read usage',
    key_help: 'console.anthropic.com → Settings → Admin keys (organization admins only)',
    least_privilege: 'Use a key for Burnrate alone, with read-only permissions where the provider offers them.',
    can_sync: false,
    settings: [],
    note: 'Anthropic bills per workspace, not per key: amounts per key are estimates from tokens × list price; per-workspace and per-model amounts are billed.',
    disable_key: 'reversible',
    revoke_help: 'console.anthropic.com → Settings → API keys → Disable',
  },
  {
    id: 'openrouter',
    label: 'OpenRouter',
    default_base_url: 'https://openrouter.ai/api/v1',
    key_kind: "Any API key (its own usage), or a management key for every key's daily activity",
    key_help: 'openrouter.ai → Settings → API keys, or Management keys for per-key activity',
    least_privilege: 'Use a key for Burnrate alone, with read-only permissions where the provider offers them.',
    can_sync: true,
    settings: [],
    note: null,
    disable_key: 'reversible',
    revoke_help: 'openrouter.ai/settings/keys → the key → Disable',
  },
  {
    id: 'litellm',
    label: 'LiteLLM proxy',
    default_base_url: null,
    key_kind: 'Master key or a virtual key (sk-…)',
    key_help: "your proxy's admin UI or LITELLM_MASTER_KEY",
    least_privilege: 'Use a key for Burnrate alone, with read-only permissions where the provider offers them.',
    can_sync: false,
    settings: [],
    note: null,
    disable_key: 'reversible',
    revoke_help: "your proxy's admin UI → Virtual keys → Block",
  },
  {
    id: 'custom-json',
    label: 'Custom JSON endpoint',
    default_base_url: null,
    key_kind: 'Whatever the endpoint expects in its auth header (see the header and prefix settings)',
    key_help: 'the documentation of the service that serves the endpoint',
    least_privilege: 'Use a key for Burnrate alone, with read-only permissions where the provider offers them.',
    can_sync: true,
    // As burnrate_core's ProviderId::CustomJson.settings().
    settings: [
      { key: 'pointer', label: 'JSON pointer', help: 'where the amount is in the response, e.g. /data/balance', kind: 'json_pointer', required: true, default: null },
      { key: 'meaning', label: 'What the amount is', help: 'balance (money left), total (spend since the account began) or today (spend so far today)', kind: 'text', required: false, default: 'balance' },
      { key: 'divisor', label: 'Unit divisor', help: 'the amount is divided by this, e.g. 100 for cents', kind: 'decimal', required: false, default: '1' },
      { key: 'currency', label: 'Currency', help: 'ISO-4217 code of the amount', kind: 'currency', required: false, default: 'USD' },
      { key: 'header', label: 'Auth header', help: 'the header that carries the key', kind: 'header', required: false, default: 'Authorization' },
      {
        key: 'prefix',
        label: 'Auth prefix',
        help: "text before the key in the header: 'Bearer' for Authorization and nothing for other headers unless given; 'none' for no prefix",
        kind: 'text',
        required: false,
        default: null,
      },
    ],
    note: 'Daily spend is derived from the change between syncs; sync at least daily for daily detail.',
    disable_key: 'unsupported',
    revoke_help: 'the console of the service that issued the key',
  },
];

/** What the page's invoke() should reject with, e.g. reject('invalid_url', '…'). */
export function reject(code, message) {
  return { __reject: { code, message } };
}

/** Same shape as burnrate_core::secrets::fingerprint. */
export function fingerprint(key) {
  const k = key.trim();
  const prefix = k.startsWith('sk-') ? 'sk-' : '';
  const chars = [...k];
  const tail = chars.length >= 16 ? 4 : chars.length >= 8 ? 2 : 0;
  return `${prefix}…${chars.slice(chars.length - tail).join('')}`;
}

export function sourceView(overrides) {
  return {
    id: 1,
    name: 'source',
    provider: 'openai',
    base_url: 'https://api.openai.com/v1',
    key_storage: 'keyring',
    key_env_var: null,
    key_fingerprint: 'sk-…abcd',
    cleartext_warning: null,
    created_at: '2026-01-10T09:00:00Z',
    settings: {},
    last_sync: null,
    ...overrides,
  };
}

/** A BudgetView as the core returns it; `spent` defaults to nothing spent yet. */
export function budgetView(overrides) {
  return {
    id: 1,
    scope: 'total',
    scope_kind: 'total',
    source: null,
    key_id: null,
    key_name: null,
    period: 'month',
    amount: '100.000000',
    currency: 'USD',
    thresholds: [50, 80, 100],
    created_at: '2026-01-02T10:00:00Z',
    period_start: '2026-01-01',
    period_end: '2026-01-31',
    spent: '0.000000',
    estimated: false,
    spent_known: true,
    missing_rate: null,
    converted_from: [],
    ...overrides,
  };
}

/** An AlertView as the core returns it (a spike on a key unless overridden). */
export function alertView(overrides) {
  return {
    id: 1,
    kind: 'spike',
    budget_id: null,
    source: 'work-openai',
    key_id: 'key_prod',
    key_name: 'Production (sk-…9f3c)',
    period_start: null,
    threshold: null,
    amount: '42.000000',
    limit: '1.500000',
    currency: 'USD',
    estimated: false,
    title: 'Spike: key Production (sk-…9f3c) of work-openai',
    body: '42.00 USD in the last hour against a usual 1.50 USD.',
    fired_at: '2026-01-14T08:40:00Z',
    notified: true,
    notified_at: '2026-01-14T08:40:01Z',
    notify_error: null,
    details: {},
    fingerprint: null,
    deliveries: [],
    ...overrides,
  };
}

/** A `daily_report` row by key (what the budget and auto-disable forms list as keys). */
export function keyReportRow(source, keyId, keyName) {
  return { day: '2026-01-14', source, provider: null, key_id: keyId, key_name: keyName, model: null, currency: 'USD', amount: '1.000000', kind: 'billed' };
}

/** A ChannelView as the core returns it (a Slack channel in the secret store unless overridden). */
export function channelView(overrides) {
  return {
    name: 'team-slack',
    kind: 'slack',
    target: 'https://hooks.slack.com/…',
    secret_storage: 'keyring',
    secret_env_var: null,
    alert_kinds: ['threshold', 'forecast', 'spike', 'price_drift', 'terms_changed', 'source_stale'],
    quiet_hours: false,
    created_at: '2026-01-14T08:00:00Z',
    pending: 0,
    failed: 0,
    last_attempt_at: null,
    last_error: null,
    ...overrides,
  };
}

/** What the fake core shows of a channel URL: scheme and host, the token elided. */
function urlTarget(url) {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.length > 1 || parsed.search ? '/…' : ''}`;
}

/** A chart as the core returns it: two keys over two days (bars in SVG pixels of 900 × 360). */
export function chartView(overrides) {
  return {
    svg: '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="360"><rect x="100" y="100" width="80" height="200" fill="#4e79a7"/></svg>',
    width: 900,
    height: 360,
    currency: 'USD',
    currencies: ['USD'],
    from: '2026-01-13',
    to: '2026-01-14',
    days_label: 'UTC days',
    series: [
      { id: 'work-openai/key_FAKE_a', label: 'Alpha', color: '#4e79a7', total: '15.000000', estimated: false, partial: false },
      { id: 'work-openai/key_FAKE_b', label: 'Beta', color: '#f28e2b', total: '2.500000', estimated: true, partial: false },
    ],
    bars: [
      { x: 100, y: 100, width: 80, height: 200, day: '2026-01-13', series: 'work-openai/key_FAKE_a', label: 'Alpha', amount: '10.000000', amount_micros: 10000000, estimated: false, hour: null },
      { x: 100, y: 60, width: 80, height: 40, day: '2026-01-13', series: 'work-openai/key_FAKE_b', label: 'Beta', amount: '2.500000', amount_micros: 2500000, estimated: true, hour: null },
      { x: 400, y: 200, width: 80, height: 100, day: '2026-01-14', series: 'work-openai/key_FAKE_a', label: 'Alpha', amount: '5.000000', amount_micros: 5000000, estimated: false, hour: null },
    ],
    empty: null,
    note: null,
    total: '17.500000',
    converted: null,
    ...overrides,
  };
}

export const DEFAULT_SETTINGS = {
  time_zone: 'local',
  effective_time_zone: 'UTC',
  quiet_hours: null,
  alerts_paused_until: null,
  key_rotation_days: 90,
  max_daily_amount: '1000000',
  close_to_tray: true,
  serve_local: false,
  serve_port: 9464,
  display_currency: null,
  convertible_currencies: ['EUR', 'AUD', 'CNY', 'GBP', 'JPY', 'USD'],
  // The core starts with false; most tests are not about the one-time offer, so it was made.
  start_at_login_offered: true,
};

/**
 * A spend_headline answer: no figures before a first sync (as_of from the sources' last good
 * sync), else what the test passes. Amounts are decimal strings as the core sends them. `now`
 * is empty unless a test passes the core's clock: the app then keeps the page's own clock.
 */
export function headlineView({ sources = [], ...fields } = {}) {
  const synced = sources.map((s) => (s.last_sync?.ok ? s.last_sync.finished_at : null)).filter(Boolean).sort();
  return {
    now: '',
    today: '2026-01-14',
    as_of: synced.at(-1) ?? null,
    currencies: [],
    credits: [],
    not_reported_today: [],
    unpriced: [],
    converted: null,
    ...fields,
  };
}

export class FakeBackend {
  constructor({
    sources = [],
    report = [],
    providers = PROVIDERS,
    reconcile = [],
    statuses = null,
    budgets = [],
    alerts = [],
    settings = DEFAULT_SETTINGS,
    keyActions = [],
    keyReport = [],
    channels = [],
    autoDisableRules = [],
  } = {}) {
    this.calls = [];
    this.sources = sources;
    this.report = report;
    this.providers = providers;
    this.reconcileRows = reconcile;
    /** null: derived from the sources (see defaultStatuses); else answered as is. */
    this.statuses = statuses;
    this.paused = false;
    this.budgets = budgets;
    this.alerts = alerts;
    this.settings = { ...settings };
    this.keyActions = keyActions;
    this.channels = channels;
    this.autoDisableRules = autoDisableRules;
    /** What test_channel answers, by channel name (default: delivered). */
    this.channelTests = new Map();
    /** What daily_report answers when asked by key (the budget form's key list). */
    this.keyReport = keyReport;
    /** { code, message } to make disable_key fail (the attempt is still recorded). */
    this.disableFailure = null;
    this.nextId = 100;
    /** Per-command overrides: cmd -> (args) => answer (or reject(...)). */
    this.overrides = new Map();
    /** The gateway checklist's assessments and their commands (checklist-backend.mjs). */
    this.checklist = new Checklist();
  }

  on(cmd, fn) {
    this.overrides.set(cmd, fn);
    return this;
  }

  callsTo(cmd) {
    return this.calls.filter((c) => c.cmd === cmd).map((c) => c.args);
  }

  /** Like the poller: every source scheduled 12 minutes ahead, or paused; failures from last_sync. */
  defaultStatuses() {
    const next = new Date(Date.now() + 12 * 60_000).toISOString();
    return this.sources.map((s) => {
      const failed = s.last_sync !== null && !s.last_sync.ok;
      return {
        source: s.name,
        state: this.paused ? 'paused' : failed ? 'backing_off' : 'scheduled',
        last_success_at: s.last_sync?.ok ? s.last_sync.finished_at : null,
        next_poll_at: next,
        last_error: s.last_sync?.error ?? null,
        consecutive_failures: failed ? 1 : 0,
      };
    });
  }

  addBudget(request) {
    const [kind, rest = null] = request.scope.split(/:(.*)/s);
    const [source, keyId] = kind === 'key' && rest.includes('/') ? rest.split('/') : [kind === 'source' ? rest : null, rest];
    const [whole, fraction] = request.amount.split('.');
    const view = budgetView({
      id: this.nextId++,
      scope: request.scope,
      scope_kind: kind,
      source: kind === 'total' ? null : source,
      key_id: kind === 'key' ? keyId : null,
      period: request.period,
      amount: `${whole}.${(fraction ?? '').padEnd(6, '0').slice(0, 6)}`,
      currency: request.currency ?? 'USD',
      thresholds: request.thresholds ?? [50, 80, 100],
    });
    this.budgets = [...this.budgets, view];
    return view;
  }

  /**
   * Like the core: refuses without the confirmations the provider needs, then records the
   * attempt; `backend.disableFailure = { code, message }` makes the provider refuse.
   */
  disableKey({ source, keyId, confirm, alertId }) {
    const provider = this.sources.find((s) => s.name === source)?.provider ?? 'openai';
    const support = this.providers.find((p) => p.id === provider)?.disable_key;
    if (!confirm?.confirmed) return reject('confirmation_required', 'Disabling a key needs confirmation.');
    if (support === 'irreversible' && !confirm.acknowledged_irreversible) {
      return reject('confirmation_required', 'OpenAI deletes the key: acknowledge that it cannot be undone.');
    }
    const action = {
      id: this.nextId++,
      source,
      provider,
      key_id: keyId,
      key_name: null,
      key_fingerprint: null,
      action: 'disable',
      requested_at: new Date().toISOString(),
      ok: true,
      detail: 'The provider confirmed the key is disabled.',
      alert_id: alertId ?? null,
      rule_id: null,
      dry_run: false,
    };
    const failure = this.disableFailure;
    if (failure) {
      this.keyActions = [{ ...action, ok: false, detail: failure.message }, ...this.keyActions];
      return reject(failure.code, failure.message);
    }
    this.keyActions = [action, ...this.keyActions];
    return action;
  }

  async handle(cmd, args) {
    this.calls.push({ cmd, args });
    const override = this.overrides.get(cmd);
    if (override) return override(args);
    switch (cmd) {
      case 'app_info':
        return { version: '0.1.0', data_dir: '/home/user/.local/share/burnrate', log_dir: '/home/user/.local/state/burnrate/logs', providers: this.providers };
      case 'list_sources':
        return this.sources;
      case 'add_source': {
        const { request } = args;
        if (this.sources.some((s) => s.name === request.name)) {
          return reject('source_exists', `a source named "${request.name}" already exists`);
        }
        const provider = this.providers.find((p) => p.id === request.provider);
        const view = sourceView({
          id: this.nextId++,
          name: request.name,
          provider: request.provider,
          base_url: request.base_url ?? provider.default_base_url,
          key_storage: request.key.kind === 'secret' ? 'keyring' : 'env',
          key_env_var: request.key.kind === 'env' ? request.key.var : null,
          key_fingerprint: request.key.kind === 'secret' ? fingerprint(request.key.value) : null,
          settings: request.settings ?? {},
        });
        this.sources = [...this.sources, view];
        return view;
      }
      case 'test_connection': {
        const { request } = args;
        const key = request.key.kind === 'secret' ? request.key.value : `$${request.key.var}`;
        return {
          ok: true,
          provider: request.provider,
          base_url: request.base_url ?? this.providers.find((p) => p.id === request.provider).default_base_url,
          key_fingerprint: fingerprint(key),
          from: '2026-03-09',
          to: '2026-03-10',
          elapsed_ms: 412,
          readable: [
            { what: 'API keys', readable: true, detail: '2 keys: prod (sk-or-…aaaa), ci (sk-or-…bbbb)' },
            { what: 'Spend', readable: true, detail: 'billed amounts per day, key, model; 3.20 USD in these two days' },
            { what: 'Balance and limits', readable: false, detail: 'none reported with this key' },
          ],
          error: null,
        };
      }
      case 'test_source': {
        const source = this.sources.find((s) => s.name === args.name);
        if (!source) return reject('source_not_found', `no source named "${args.name}"`);
        return {
          ok: true, provider: source.provider, base_url: source.base_url, key_fingerprint: source.key_fingerprint ?? 'sk-…0000',
          from: '2026-03-09', to: '2026-03-10', elapsed_ms: 230,
          readable: [{ what: 'Spend', readable: true, detail: 'billed amounts per day, key; 12.35 USD in these two days' }],
          error: null,
        };
      }
      case 'remove_source':
        this.sources = this.sources.filter((s) => s.name !== args.name);
        return null;
      case 'sync_now':
        return [];
      case 'daily_report':
        return args.query?.by?.includes('key') ? this.keyReport : this.report;
      case 'reconcile':
        return this.reconcileRows;
      case 'poller_status':
        return this.statuses ?? this.defaultStatuses();
      case 'set_polling_paused':
        this.paused = args.paused;
        return null;
      case 'list_budgets':
        return this.budgets;
      case 'add_budget':
        return this.addBudget(args.request);
      case 'remove_budget':
        this.budgets = this.budgets.filter((b) => b.id !== args.id);
        return null;
      case 'list_channels':
        return this.channels;
      case 'add_channel': {
        const { request } = args;
        if (this.channels.some((c) => c.name === request.name)) {
          return reject('channel_exists', `a channel named "${request.name}" already exists; remove it first or pick another name`);
        }
        const secret = request.secret;
        const target =
          request.kind === 'email' ? request.email.to.join(', ') : request.kind === 'exec' ? request.exec.command : secret.kind === 'secret' ? urlTarget(secret.value) : '(from the environment)';
        const view = channelView({
          name: request.name,
          kind: request.kind,
          target,
          secret_storage: secret ? (secret.kind === 'secret' ? 'keyring' : 'env') : 'none',
          secret_env_var: secret?.kind === 'env' ? secret.var : null,
          alert_kinds: request.alert_kinds ?? channelView().alert_kinds,
          quiet_hours: request.quiet_hours,
        });
        this.channels = [...this.channels, view];
        return view;
      }
      case 'remove_channel':
        if (!this.channels.some((c) => c.name === args.name)) return reject('channel_not_found', `no channel named "${args.name}"`);
        this.channels = this.channels.filter((c) => c.name !== args.name);
        return null;
      case 'test_channel': {
        if (!this.channels.some((c) => c.name === args.name)) return reject('channel_not_found', `no channel named "${args.name}"`);
        const answer = this.channelTests.get(args.name) ?? { ok: true, detail: 'HTTP 200' };
        this.channels = this.channels.map((c) =>
          c.name === args.name ? { ...c, last_attempt_at: '2026-01-14T09:00:00Z', last_error: answer.ok ? null : answer.detail } : c,
        );
        return { channel: args.name, elapsed_ms: 120, ...answer };
      }
      case 'list_auto_disable':
        return this.autoDisableRules;
      case 'add_auto_disable': {
        const { request } = args;
        const source = this.sources.find((s) => s.name === request.source);
        if (!source) return reject('source_not_found', `no source named "${request.source}"`);
        const rule = {
          id: this.nextId++,
          source: request.source,
          provider: source.provider,
          key_id: request.key_id ?? null,
          key_name: this.keyReport.find((r) => r.key_id === request.key_id)?.key_name ?? null,
          on: request.on,
          dry_run: request.dry_run,
          cooldown_hours: request.cooldown_hours ?? 6,
          created_at: '2026-01-14T09:00:00Z',
          actions: 0,
        };
        this.autoDisableRules = [...this.autoDisableRules, rule];
        return rule;
      }
      case 'remove_auto_disable':
        this.autoDisableRules = this.autoDisableRules.filter((r) => r.id !== args.id);
        return null;
      case 'list_alerts':
        return args.limit == null ? this.alerts : this.alerts.slice(0, args.limit);
      case 'get_settings':
        return this.settings;
      case 'set_setting':
        if (args.name === 'close_to_tray' || args.name === 'start_at_login_offered' || args.name === 'serve_local') {
          this.settings = { ...this.settings, [args.name]: args.value === 'on' };
          return this.settings;
        }
        this.settings = { ...this.settings, [args.name]: args.value === '' ? null : args.value };
        if (args.name === 'key_rotation_days') {
          const days = Number(args.value);
          if (!Number.isInteger(days) || days < 1 || days > 3650) return reject('invalid_input', `"${args.value}" is not a rotation period`);
          this.settings.key_rotation_days = days;
        }
        if (args.name === 'serve_port') {
          const port = args.value === 'default' ? 9464 : Number(args.value);
          if (!Number.isInteger(port) || port < 1 || port > 65535) return reject('invalid_input', `"${args.value}" is not a port`);
          this.settings.serve_port = port;
        }
        if (args.name === 'display_currency') this.settings.display_currency = args.value === 'none' ? null : args.value;
        if (args.name === 'time_zone') this.settings.effective_time_zone = args.value === 'local' ? 'UTC' : args.value;
        return this.settings;
      case 'pause_alerts':
        this.settings = {
          ...this.settings,
          alerts_paused_until: args.seconds > 0 ? new Date(Date.now() + args.seconds * 1000).toISOString() : null,
        };
        return this.settings;
      case 'key_actions':
        return this.keyActions.filter(
          (a) => (args.source == null || a.source === args.source) && (args.keyId == null || a.key_id === args.keyId),
        );
      case 'disable_key':
        return this.disableKey(args);
      case 'start_at_login':
        return this.startAtLogin ?? false;
      case 'main_window_ready': {
        // Like the shell: a key asked for while the window was being built, handed over once.
        const key = this.pendingFocus ?? null;
        this.pendingFocus = null;
        return key;
      }
      case 'set_start_at_login':
        if (this.startAtLoginFails) return reject('internal', 'could not change the start-at-login entry (read-only)');
        this.startAtLogin = args.enabled;
        return this.startAtLogin;
      case 'tray_status':
        return this.summary ?? { level: 'normal', reason: null, summary: 'Today 0.00 USD · Month 0.00 USD', top_keys: [], alerts_paused_until: null, as_of: null, stale: [] };
      case 'export_ledger':
        return args.format === 'focus'
          ? `/home/user/.local/share/burnrate/exports/focus-${args.from ?? 'last-30-days'}.csv`
          : `/home/user/.local/share/burnrate/exports/ledger-${args.from ?? 'last-30-days'}.${args.format}`;
      case 'rates_status':
        return this.rates ?? { needed: false, newest_day: null, age_days: null, fetched_at: null, failed_at: null, last_error: null };
      case 'spend_headline':
        return this.headline ?? headlineView({ sources: this.sources });
      case 'set_model_price':
        this.pricesSet = [...(this.pricesSet ?? []), args];
        return null;
      case 'key_table':
        return this.keys ?? [];
      case 'set_key_environment': {
        const row = (this.keys ?? []).find((k) => k.source === args.source && k.key_id === args.keyId);
        if (!row) return reject('key_not_found', `source "${args.source}" has no key "${args.keyId}"`);
        this.keys = this.keys.map((k) => (k === row ? { ...k, environment: args.environment } : k));
        return this.keys;
      }
      case 'chart':
        // A chart in the display currency when the test set one up (ChartQuery.convert_to).
        if (args.query.convert_to && this.convertedChartView) return this.convertedChartView;
        return this.chartView ?? chartView({ from: args.query.from ?? '2025-12-16', to: args.query.to ?? '2026-01-14' });
      case 'save_chart':
        return `/home/user/.local/share/burnrate/exports/chart-daily-by-key.${args.format}`;
      case 'export_incident':
        return `/home/user/burnrate-incident-${args.source}-${args.keyId}.${args.format === 'csv' ? 'csv' : 'md'}`;
      default: {
        const answer = this.checklist.handle(cmd, args);
        return answer === undefined ? reject('internal', `unknown command ${cmd}`) : answer;
      }
    }
  }
}

/**
 * A new browser context and page wired to `backend`. The IPC bridge is exposed before the
 * first navigation, so the app's very first invoke() is answered.
 */
export async function openApp(browser, baseUrl, backend, { colorScheme = 'light', storageState, onPageError, clock } = {}) {
  const context = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'UTC',
    colorScheme,
    viewport: { width: 1100, height: 800 },
    storageState,
  });
  const page = await context.newPage();
  if (onPageError) {
    page.on('pageerror', onPageError);
    page.on('console', (m) => {
      if (m.type() === 'error') onPageError(new Error(`${m.text()} (${m.location().url})`));
    });
  }
  await page.exposeFunction('__ipcHandler', (cmd, args) => backend.handle(cmd, args));
  // A fake clock (Date and timers) in the page from the first script on: { time }.
  if (clock) await page.clock.install(clock);
  await page.goto(`${baseUrl}/mock.html`);
  return { context, page };
}

/** Opens the add-source form: always shown before the first source, then from "Add a source". */
export async function openAddSource(page) {
  if ((await page.locator('#add-source-form').count()) === 0) await page.click('#show-add-source');
  await page.locator('#add-source-form').waitFor();
}

/** Polls `fn` until it returns a truthy value (or throws the last assertion after `timeout`). */
export async function eventually(fn, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      const value = await fn();
      if (value !== false && value !== undefined && value !== null) return value;
      if (Date.now() > deadline) throw new Error('condition not met in time');
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * WCAG contrast of every visible text node's element against its effective background.
 * Returns the offenders: normal text below 4.5:1, large/bold-large text below 3:1.
 * Elements that are intentionally dimmed (aria-disabled) and placeholders are skipped.
 */
export function lowContrastText(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg && bg.a > 0) {
          layers.push(bg);
          if (bg.a === 1) break;
        }
      }
      let color = { r: 255, g: 255, b: 255, a: 1 };
      for (const layer of layers.reverse()) color = over(layer, color);
      return color;
    };
    const offenders = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || node.textContent.trim() === '') continue;
      if (el.closest('[aria-disabled="true"], .visually-hidden, option')) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      const style = getComputedStyle(el);
      const fg = parse(style.color);
      const bg = background(el);
      const ratio = (Math.max(lum(over(fg, bg)), lum(bg)) + 0.05) / (Math.min(lum(over(fg, bg)), lum(bg)) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        offenders.push(`${ratio.toFixed(2)} "${node.textContent.trim().slice(0, 40)}" (${el.tagName.toLowerCase()}.${el.className})`);
      }
    }
    return offenders;
  });
}

/**
 * Registers a test file's hooks: one Vite server and one Chromium for the file, every page
 * closed at the end, and no test may leave an uncaught exception or console error behind in
 * any page it opened. Returns `open(backend, options)`, which opens the app like `openApp`.
 */
export function useBrowserApp() {
  let vite;
  let browser;
  const contexts = [];
  let pageErrors = [];
  before(async () => {
    vite = await startVite();
    browser = await launchChromium();
  });
  afterEach(() => {
    const errors = pageErrors.map((e) => e.message);
    pageErrors = [];
    assert.deepEqual(errors, []);
  });
  after(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await browser?.close();
    await vite?.server.close();
  });
  return async function open(backend, options) {
    const opened = await openApp(browser, vite.url, backend, { ...options, onPageError: (e) => pageErrors.push(e) });
    contexts.push(opened.context);
    return opened;
  };
}
