import { describe, expect, test } from 'vitest';
import { channelRequest, channelSecretLabel, deliveryLine, emptyChannelForm, splitRecipients, type ChannelForm } from './channels';

function form(overrides: Partial<ChannelForm>): ChannelForm {
  return { ...emptyChannelForm(overrides.kind), ...overrides };
}

describe('channelRequest', () => {
  test('a Slack URL goes to the secret store; every alert kind by default, nothing else sent', () => {
    const result = channelRequest(form({ kind: 'slack', name: ' team slack ', secret: ' https://hooks.slack.com/services/T/B/x ' }));
    expect(result).toEqual({
      ok: true,
      request: {
        kind: 'slack',
        name: 'team slack',
        quiet_hours: false,
        secret: { kind: 'secret', value: 'https://hooks.slack.com/services/T/B/x' },
      },
    });
  });

  test('a subset of alert kinds is sent in a fixed order; an empty subset is refused', () => {
    const some = channelRequest(
      form({ kind: 'ntfy', name: 'phone', secretMode: 'env', envVar: 'NTFY_URL', allKinds: false, kinds: ['spike', 'threshold'], quietHours: true }),
    );
    expect(some.ok && some.request).toEqual({
      kind: 'ntfy',
      name: 'phone',
      quiet_hours: true,
      secret: { kind: 'env', var: 'NTFY_URL' },
      alert_kinds: ['threshold', 'spike'],
    });
    const none = channelRequest(form({ kind: 'ntfy', name: 'phone', secret: 'https://ntfy.sh/t', allKinds: false, kinds: [] }));
    expect(none.ok ? null : none.errors.kinds).toMatch(/at least one/);
  });

  test('names, URLs and variable names are checked next to their fields', () => {
    const result = channelRequest(form({ kind: 'webhook', name: 'on/call', secret: 'hooks.example.com/x' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(['name', 'secret']);
    expect(result.errors.secret).toMatch(/https:\/\//);
    const env = channelRequest(form({ kind: 'webhook', name: 'x', secretMode: 'env', envVar: '1URL' }));
    expect(env.ok ? null : env.errors.secret).toMatch(/not a variable name/);
  });

  test('e-mail: recipients split on commas and lines, a password only with a login, port optional', () => {
    const result = channelRequest(
      form({
        kind: 'email',
        name: 'mail',
        smtpHost: 'smtp.example.com',
        smtpTls: 'tls',
        from: 'Burnrate <burnrate@example.com>',
        to: 'a@example.com,\n b@example.com; ',
      }),
    );
    expect(result.ok && result.request).toEqual({
      kind: 'email',
      name: 'mail',
      quiet_hours: false,
      email: { host: 'smtp.example.com', tls: 'tls', from: 'Burnrate <burnrate@example.com>', to: ['a@example.com', 'b@example.com'] },
    });
    const login = channelRequest(
      form({ kind: 'email', name: 'mail', smtpHost: 'smtp.example.com', smtpPort: '2525', smtpUser: 'me', secret: 'pw', from: 'a@example.com', to: 'b@example.com' }),
    );
    expect(login.ok && login.request.secret).toEqual({ kind: 'secret', value: 'pw' });
    expect(login.ok && login.request.email?.port).toBe(2525);
    expect(login.ok && login.request.email?.username).toBe('me');
    const noPassword = channelRequest(form({ kind: 'email', name: 'mail', smtpHost: 'smtp.example.com', smtpUser: 'me', from: 'a@example.com', to: 'b@example.com' }));
    expect(noPassword.ok ? null : noPassword.errors.secret).toMatch(/password/);
  });

  test('e-mail without encryption is only for this machine; bad addresses are named', () => {
    const remote = channelRequest(form({ kind: 'email', name: 'm', smtpHost: 'smtp.example.com', smtpTls: 'none', from: 'a@example.com', to: 'b@example.com' }));
    expect(remote.ok ? null : remote.errors.smtpHost).toMatch(/clear text/);
    const local = channelRequest(form({ kind: 'email', name: 'm', smtpHost: 'localhost', smtpTls: 'none', from: 'a@example.com', to: 'b@example.com' }));
    expect(local.ok).toBe(true);
    const bad = channelRequest(form({ kind: 'email', name: 'm', smtpHost: 'smtp.example.com:587', from: 'nobody', to: 'b@example.com, oops' }));
    expect(bad.ok ? {} : bad.errors).toEqual({
      smtpHost: expect.stringMatching(/port has its own field/),
      from: expect.any(String),
      to: '“oops” is not an e-mail address.',
    });
  });

  test('exec: one line, a time limit from 1 to 600 seconds, and no secret', () => {
    const ok = channelRequest(form({ kind: 'exec', name: 'pager', command: ' /usr/local/bin/page-me --loud ', timeoutSeconds: '5' }));
    expect(ok.ok && ok.request).toEqual({
      kind: 'exec',
      name: 'pager',
      quiet_hours: false,
      exec: { command: '/usr/local/bin/page-me --loud', timeout_seconds: 5 },
    });
    const bad = channelRequest(form({ kind: 'exec', name: 'pager', command: 'a\nb', timeoutSeconds: '601' }));
    expect(bad.ok ? [] : Object.keys(bad.errors).sort()).toEqual(['command', 'timeoutSeconds']);
  });
});

test('splitRecipients drops empties', () => {
  expect(splitRecipients(' a@x.org ,, b@x.org\n\n')).toEqual(['a@x.org', 'b@x.org']);
});

test('channelSecretLabel names the store or the variable, never a value', () => {
  expect(channelSecretLabel({ kind: 'slack', secret_storage: 'keyring', secret_env_var: null })).toBe('URL in the OS secret store');
  expect(channelSecretLabel({ kind: 'email', secret_storage: 'env', secret_env_var: 'SMTP_PW' })).toBe('SMTP password read from $SMTP_PW');
  expect(channelSecretLabel({ kind: 'email', secret_storage: 'none', secret_env_var: null })).toBe('No SMTP login');
});

describe('deliveryLine', () => {
  const base = { channel: 'oncall', round: 0, attempts: 1, delivered_at: null, next_attempt_at: null, last_error: null };
  test('delivered, waiting with its next try and reason, and given up', () => {
    expect(deliveryLine({ ...base, state: 'delivered', delivered_at: '2026-01-14T08:41:00Z' }, 'en-GB')).toMatch(/^oncall: delivered \S/);
    const waiting = deliveryLine(
      { ...base, state: 'pending', attempts: 2, next_attempt_at: '2026-01-14T08:45:00Z', last_error: 'HTTP 503' },
      'en-GB',
    );
    expect(waiting).toMatch(/^oncall: waiting, 2 attempts so far; next try .+ — HTTP 503$/);
    expect(deliveryLine({ ...base, state: 'pending', attempts: 0 })).toBe('oncall: waiting');
    expect(deliveryLine({ ...base, state: 'failed', attempts: 12, last_error: 'HTTP 404' })).toBe('oncall: gave up after 12 attempts — HTTP 404');
  });
  test('a re-announcement says so', () => {
    expect(deliveryLine({ ...base, round: 1, state: 'pending', attempts: 0 })).toBe('oncall (announced again, #2): waiting');
  });
});
