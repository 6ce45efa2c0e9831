// The desktop app's local metrics server, as the web view sees it: the "Local metrics server"
// switch and port in Settings, off by default, saved through set_setting, and a refusal (the
// port is taken) shown with the saved values put back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, eventually, reject, sourceView, useBrowserApp } from './harness.mjs';

const open = useBrowserApp();
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

describe('the local metrics server', () => {
  test('is off by default; turning it on saves serve_local and shows the URL; a port is validated', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work' })] });
    const { page } = await open(backend);
    await page.click('#tab-settings');
    const box = page.locator('#serve-local');
    await eventually(async () => !(await box.isDisabled()));
    assert.equal(await box.isChecked(), false, 'off by default');
    assert.equal(await page.locator('#serve-port').inputValue(), '9464');
    assert.equal(await page.locator('#serve-local-url').count(), 0);

    await box.click();
    await eventually(async () => (await box.isChecked()) && !(await box.isDisabled()));
    assert.deepEqual(backend.callsTo('set_setting'), [{ name: 'serve_local', value: 'on' }]);
    assert.equal(backend.settings.serve_local, true);
    assert.match(await text(page.locator('#serve-local-url')), /http:\/\/127\.0\.0\.1:9464\/metrics/);
    assert.match(await text(page.locator('#status')), /Serving metrics and the read-only API on http:\/\/127\.0\.0\.1:9464/);

    await page.fill('#serve-port', '19464');
    await page.locator('#serve-port').dispatchEvent('change');
    await eventually(async () => backend.settings.serve_port === 19464);
    await eventually(async () => /127\.0\.0\.1:19464\/metrics/.test(await text(page.locator('#serve-local-url'))));

    await page.fill('#serve-port', '70000');
    await page.locator('#serve-port').dispatchEvent('change');
    await page.locator('#serve-local-error').waitFor();
    assert.match(await text(page.locator('#serve-local-error')), /not a port/);
    assert.equal(await page.locator('#serve-port').inputValue(), '19464', 'shows what is saved');
  });

  test('a port another program holds is reported and the switch stays off', async () => {
    const backend = new FakeBackend({ sources: [sourceView({ name: 'work' })] });
    backend.on('set_setting', () =>
      reject('invalid_input', 'cannot listen on 127.0.0.1:9464: Address in use; choose another port'),
    );
    const { page } = await open(backend);
    await page.click('#tab-settings');
    const box = page.locator('#serve-local');
    await eventually(async () => !(await box.isDisabled()));
    await box.click();
    await page.locator('#serve-local-error').waitFor();
    assert.match(await text(page.locator('#serve-local-error')), /Address in use/);
    await eventually(async () => !(await box.isChecked()));
    assert.equal(backend.settings.serve_local, false);
  });
});
