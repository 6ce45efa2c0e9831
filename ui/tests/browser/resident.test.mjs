// Staying resident in the tray, as the web view sees it: the "Keep watching from the tray"
// switch in Settings, the one-time offer to start at login after the first source, and a key
// opened from the tray while the window was being built.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, FakeBackend, alertView, eventually, reject, sourceView, useBrowserApp } from './harness.mjs';

const open = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

/** As the core starts: the offer not made yet. */
const FRESH = { ...DEFAULT_SETTINGS, start_at_login_offered: false };

describe('closing the window', () => {
  test('"Keep watching from the tray" is on by default, saved as on/off, and a refusal puts it back', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work' })] });
    const { page } = await open(backend);
    await page.click('#tab-settings');
    const box = page.locator('#close-to-tray');
    await eventually(async () => !(await box.isDisabled()));
    assert.equal(await box.isChecked(), true, 'on by default');
    // Next to "Start at login".
    const order = await page.locator('#panel-settings section.card').evaluateAll((cards) => cards.map((c) => c.id));
    assert.equal(order.indexOf('close-to-tray-section'), order.indexOf('start-at-login-section') + 1, order.join(', '));

    await box.click();
    await eventually(async () => !(await box.isChecked()) && !(await box.isDisabled()));
    assert.deepEqual(backend.callsTo('set_setting'), [{ name: 'close_to_tray', value: 'off' }]);
    assert.equal(backend.settings.close_to_tray, false);
    assert.match(await text(page.locator('#status')), /Closing the window quits Burnrate/);

    backend.on('set_setting', () => reject('storage_unavailable', 'The ledger is read-only.'));
    await box.click();
    await page.locator('#close-to-tray-error').waitFor();
    assert.match(await text(page.locator('#close-to-tray-error')), /read-only/);
    assert.equal(await box.isChecked(), false, 'shows what is saved');
  });
});

describe('the one-time offer to start at login', () => {
  test('is not made before the first source, then once; "Not now" is remembered', async () => {
    const backend = new FakeBackend({ settings: FRESH });
    const { page } = await open(backend);
    await page.locator('#empty-state').waitFor();
    assert.equal(await page.locator('#start-at-login-offer').count(), 0, 'no source yet');

    await page.selectOption('#source-provider', 'openrouter');
    await page.fill('#source-name', 'personal');
    await page.fill('#source-key', 'sk-or-v1-FAKE-offer-key-0000');
    await page.click('#add-source-submit');
    const offer = page.locator('#start-at-login-offer');
    await offer.waitFor();
    assert.equal(await text(offer.locator('#start-at-login-offer-text')), 'Keep Burnrate watching after you log in?');

    await page.click('#start-at-login-decline');
    await offer.waitFor({ state: 'detached' });
    assert.deepEqual(backend.callsTo('set_setting'), [{ name: 'start_at_login_offered', value: 'on' }]);
    assert.deepEqual(backend.callsTo('set_start_at_login'), [], 'start at login stays off');
    assert.match(await text(page.locator('#status')), /stays off; it is in Settings/);

    // Never again, also after the window is built anew.
    await page.reload();
    await page.locator('#source-list').waitFor();
    await eventually(() => backend.callsTo('get_settings').length >= 2);
    await page.waitForTimeout(200);
    assert.equal(await page.locator('#start-at-login-offer').count(), 0);
  });

  test('"Start at login" turns it on, which Settings shows, and is not asked again', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work' })], settings: FRESH });
    const { page } = await open(backend);
    await page.locator('#start-at-login-offer').waitFor();
    await page.click('#start-at-login-accept');
    await page.locator('#start-at-login-offer').waitFor({ state: 'detached' });
    assert.deepEqual(backend.callsTo('set_start_at_login'), [{ enabled: true }]);
    assert.deepEqual(backend.callsTo('set_setting'), [{ name: 'start_at_login_offered', value: 'on' }]);
    assert.match(await text(page.locator('#status')), /start when you log in, hidden in the tray/);
    await page.click('#tab-settings');
    assert.equal(await page.locator('#start-at-login').isChecked(), true);
  });

  test('a refusal from the OS is shown and the offer stays; it is not made when already on', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work' })], settings: FRESH });
    backend.startAtLoginFails = true;
    const { page } = await open(backend);
    await page.locator('#start-at-login-offer').waitFor();
    await page.click('#start-at-login-accept');
    await page.locator('#start-at-login-offer-error').waitFor();
    assert.match(await text(page.locator('#start-at-login-offer-error')), /could not change the start-at-login entry/);
    assert.deepEqual(backend.callsTo('set_setting'), [], 'not answered yet');

    const already = new FakeBackend({ sources: [sourceView({ name: 'work' })], settings: FRESH });
    already.startAtLogin = true;
    const second = await open(already);
    await second.page.locator('#source-list').waitFor();
    await eventually(() => already.callsTo('start_at_login').length >= 1);
    await second.page.waitForTimeout(200);
    assert.equal(await second.page.locator('#start-at-login-offer').count(), 0);
  });
});

describe('a window built to open a key', () => {
  test('asks the shell for the key once its page listens, and shows it', async () => {
    const backend = new FakeBackend({
      sources: [sourceView({ name: 'work' })],
      alerts: [alertView({ id: 3, source: 'work', key_id: 'key_prod', key_name: 'Production' })],
    });
    backend.pendingFocus = { source: 'work', key_id: 'key_prod' };
    const { page } = await open(backend);
    await page.locator('#key-panel').waitFor();
    assert.equal(await page.getAttribute('#tab-alerts', 'aria-selected'), 'true');
    assert.match(await text(page.locator('#key-panel-title')), /Key Production/);
    assert.equal(backend.callsTo('main_window_ready').length, 1);
  });
});
