// The real app in a real WebKit window: start a gateway assessment in the Gateways tab, answer
// one question and attach a URL, and check the rows in the SQLite file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { spawn } from 'node:child_process';
import { FAKE_GATEWAY, eventually, filesContaining, launchApp, query } from './harness.mjs';

test('a gateway assessment started in the app is saved as you go', async (t) => {
  const { driver, dataDir, stop } = await launchApp();
  t.after(stop);

  const tab = await driver.wait(until.elementLocated(By.id('tab-gateways')), 20000);
  await tab.click();
  const empty = await driver.wait(until.elementLocated(By.id('gw-empty')), 10000);
  assert.match(await empty.getText(), /no gateway assessments yet/i);

  await driver.findElement(By.id('gw-new')).click();
  await driver.wait(until.elementLocated(By.id('gw-name')), 5000).sendKeys('E2E relay');
  await driver.findElement(By.id('gw-base-url')).sendKeys('https://relay.example/v1');
  await driver.findElement(By.css('#gw-claim option[value="authorized_reseller"]')).click();
  await driver.findElement(By.id('gw-submit')).click();

  const wizard = await driver.wait(until.elementLocated(By.id('gw-wizard')), 10000);
  assert.match(await wizard.findElement(By.id('gw-claim-box')).getText(), /Claim: Authorized reseller/);

  const question = await driver.findElement(By.css('[data-question="scope.providers"]'));
  await question.findElement(By.css('input[name="answer-scope.providers"][value="pass"]')).click();
  const saved = await question.findElement(By.css('[data-field="save-state"]'));
  await driver.wait(until.elementTextIs(saved, 'Saved'), 10000);
  assert.match(await driver.findElement(By.id('gw-progress')).getText(), /^1\/\d+ answered$/);

  const rows = query(
    dataDir,
    'SELECT a.name, a.base_url, a.claim, x.question_id, x.answer FROM assessments a JOIN assessment_answers x ON x.assessment_id = a.id',
  );
  assert.deepEqual(rows, [['E2E relay', 'https://relay.example/v1', 'authorized_reseller', 'scope.providers', 'pass']]);

  // A URL as evidence, with the time it was captured.
  await question.findElement(By.css('summary')).click();
  await question.findElement(By.id('ev-scope-providers-url')).sendKeys('https://relay.example/providers');
  await question.findElement(By.css('[data-action="attach-url"]')).click();
  await driver.wait(until.elementLocated(By.css('[data-question="scope.providers"] [data-kind="url"]')), 10000);
  const evidence = await eventually(
    () => {
      const r = query(dataDir, "SELECT question_id, kind, url, captured_at > 0 FROM assessment_evidence");
      return r.length > 0 && r;
    },
    'the evidence row',
  );
  assert.deepEqual(evidence, [['scope.providers', 'url', 'https://relay.example/providers', 1]]);

  // A file: its bytes go to the core as the raw IPC body and are stored by their SHA-256.
  const receipt = join(dataDir, '..', `receipt-${Date.now()}.pdf`);
  writeFileSync(receipt, '%PDF-1.4 e2e receipt');
  const digest = createHash('sha256').update(readFileSync(receipt)).digest('hex');
  await question.findElement(By.id('ev-scope-providers-file')).sendKeys(receipt);
  await question.findElement(By.css('[data-action="attach-file"]')).click();
  const item = await driver.wait(until.elementLocated(By.css('[data-question="scope.providers"] [data-kind="file"]')), 10000);
  assert.equal(await item.getAttribute('data-integrity'), 'ok');
  const files = query(dataDir, "SELECT original_name, sha256, size_bytes FROM assessment_evidence WHERE kind = 'file'");
  assert.deepEqual(files, [[receipt.split('/').pop(), digest, 20]]);
  const blob = join(dataDir, 'evidence', digest.slice(0, 2), digest);
  assert.ok(existsSync(blob), 'the file is in the evidence store');

  // Someone edits the stored file: re-opening the assessment shows the tamper, loudly.
  writeFileSync(blob, '%PDF-1.4 e2e receipT');
  await driver.findElement(By.id('gw-back-to-list')).click();
  const row = await driver.wait(until.elementLocated(By.css('[data-assessment-id="1"] [data-field="integrity"]')), 10000);
  assert.match(await row.getText(), /1 evidence file changed, missing or damaged/);
  await driver.findElement(By.css('[data-assessment-id="1"] [data-action="open"]')).click();
  const banner = await driver.wait(until.elementLocated(By.id('gw-integrity-alert')), 10000);
  assert.match(await banner.getText(), /1 evidence file has changed or gone missing/);
  const tampered = await driver.findElement(By.css('[data-question="scope.providers"] [data-kind="file"]'));
  assert.equal(await tampered.getAttribute('data-integrity'), 'changed');
  assert.match(await tampered.getText(), /CHANGED/);
});

const GATEWAY_KEY = 'sk-test-FAKE-gateway-key-0000000000001';

/** The repo's fake OpenAI-compatible gateway (crates/fake-gateway) on loopback; resolves to {url, stop}. */
function startFakeGateway() {
  const bin = FAKE_GATEWAY;
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build -p fake-gateway first`);
  const child = spawn(bin, ['--key', GATEWAY_KEY], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve({ url: out.split('\n')[0].trim(), stop: () => child.kill() });
    });
  });
}

test('the paid test runs from the app against a loopback gateway: plan, run, result saved, key kept nowhere', async (t) => {
  const gateway = await startFakeGateway();
  const { driver, dataDir, stop } = await launchApp();
  t.after(async () => { await stop(); gateway.stop(); });

  await (await driver.wait(until.elementLocated(By.id('tab-gateways')), 20000)).click();
  await (await driver.wait(until.elementLocated(By.id('gw-new')), 10000)).click();
  await driver.wait(until.elementLocated(By.id('gw-name')), 5000).sendKeys('Loopback gateway');
  await driver.findElement(By.id('gw-base-url')).sendKeys(gateway.url);
  await driver.findElement(By.id('gw-submit')).click();
  await driver.wait(until.elementLocated(By.id('gw-wizard')), 10000);
  await driver.findElement(By.css('#gw-stepper [data-step="paid"]')).click();

  await driver.wait(until.elementLocated(By.id('smoke-models')), 5000).sendKeys('gpt-4o-mini');
  const calls = await driver.findElement(By.id('smoke-calls'));
  await calls.clear();
  await calls.sendKeys('4');
  await driver.findElement(By.id('smoke-key')).sendKeys(GATEWAY_KEY);
  await driver.findElement(By.id('smoke-plan')).click();
  const plan = await driver.wait(until.elementLocated(By.id('smoke-plan-view')), 15000);
  assert.match(await plan.getText(), /5 paid calls/);
  assert.deepEqual(query(dataDir, 'SELECT COUNT(*) FROM smoke_runs'), [[0]], 'nothing run before Run');

  await driver.findElement(By.id('smoke-run')).click();
  const result = await driver.wait(until.elementLocated(By.id('smoke-result')), 60000);
  assert.equal(await result.getAttribute('data-passed'), 'true', await result.getText());
  assert.equal(await result.findElement(By.css('[data-field="calls"]')).getText(), '4/4');
  assert.equal(await result.findElement(By.css('[data-field="calls-made"]')).getText(), '5');
  assert.equal(await driver.findElement(By.id('smoke-key')).getAttribute('value'), '', 'the key field is cleared');

  assert.deepEqual(query(dataDir, 'SELECT COUNT(*) FROM smoke_runs WHERE aborted IS NULL'), [[1]]);
  assert.deepEqual(query(dataDir, "SELECT question_id, kind FROM assessment_evidence"), [['paid.calls', 'smoke']]);
  const page = await driver.findElement(By.css('body')).getText();
  assert.ok(!page.includes(GATEWAY_KEY), 'no key on screen');
  assert.deepEqual(filesContaining(dataDir, GATEWAY_KEY), [], 'the key is in no file under the data dir');
});
