// The gateway checklist in the Gateways tab: create an assessment, answer questions (saved as
// you go), attach evidence, plan and run the paid test (the plan before anything is sent; the
// key sent once and not left in the page), the verdict, the report export, the tamper badge,
// and a keyboard-only pass through the stepper.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, eventually, lowContrastText, reject, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();

const KEY = 'sk-test-FAKE-gateway-key-0000000001';
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

async function openGateways(page) {
  await page.getByRole('tab', { name: 'Gateways' }).click();
  await page.locator('#gateways').waitFor();
}

/** A backend holding one assessment (its id is 1). */
function withAssessment() {
  const b = new FakeBackend();
  b.checklist.create({ name: 'Example relay', base_url: 'https://relay.example/v1', claim: 'openai_compatible' });
  return b;
}

describe('gateway checklist', () => {
  test('the empty state says what the tab is for and how to start', async () => {
    const b = new FakeBackend();
    const { page } = await openPage(b);
    await openGateways(page);
    const empty = page.locator('#gw-empty');
    await empty.waitFor();
    assert.match(await text(empty), /No gateway assessments yet\. Start one with New assessment/);
    assert.deepEqual(b.callsTo('list_assessments'), [{}]);
  });

  test('create → answer → evidence → plan and run the paid test → verdict → export', async () => {
    const b = new FakeBackend();
    const { page } = await openPage(b);
    await openGateways(page);

    // A bad base URL: the core's error, with its code, and nothing created.
    await page.getByRole('button', { name: 'New assessment' }).click();
    const form = page.locator('#gw-form');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'gw-name');
    await form.getByLabel('Gateway name').fill('Example relay');
    await form.getByLabel('Base URL').fill('relay.example');
    await form.getByRole('button', { name: 'Start the assessment' }).click();
    const err = page.locator('#gw-form [role="alert"]');
    await err.waitFor();
    assert.match(await text(err), /Nothing was saved: .* is not an http\(s\) URL \(invalid_url\)/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'gw-base-url');

    await form.getByLabel('Base URL').fill('https://relay.example/v1');
    await form.getByLabel('What it claims to be').selectOption('openai_compatible');
    await form.getByRole('button', { name: 'Start the assessment' }).click();
    const wizard = page.locator('#gw-wizard');
    await wizard.waitFor();
    assert.deepEqual(b.callsTo('new_assessment').at(-1), {
      request: { name: 'Example relay', base_url: 'https://relay.example/v1', claim: 'openai_compatible', source: null, recheck_after_days: 90 },
    });
    assert.match(await text(wizard.locator('#gw-claim-box')), /Claim: OpenAI-compatible API.*To prove it: documentation with SDK examples/);
    assert.equal(await text(wizard.locator('#gw-progress')), '0/29 answered');
    assert.equal(await wizard.locator('#gw-verdict-badge').getAttribute('data-level'), 'incomplete');

    // Each answer saves at once and says so.
    const q = wizard.locator('[data-question="scope.providers"]');
    await q.getByRole('radio', { name: 'Pass' }).check();
    await q.locator('[data-field="save-state"]').getByText('Saved').waitFor();
    assert.deepEqual(b.callsTo('answer_question').at(-1), { id: 1, questionId: 'scope.providers', answer: 'pass', note: null });
    assert.equal(await text(wizard.locator('#gw-progress')), '1/29 answered');
    // A note is saved with the answer.
    await q.getByLabel('Note on the answer').fill('lists OpenAI and Anthropic on the pricing page');
    // Leaving the field saves the note (once: the button click after it has nothing new).
    await q.getByRole('button', { name: 'Save note' }).focus();
    await eventually(() => b.callsTo('answer_question').length === 2);
    assert.deepEqual(b.callsTo('answer_question').at(-1), {
      id: 1,
      questionId: 'scope.providers',
      answer: 'pass',
      note: 'lists OpenAI and Anthropic on the pricing page',
    });

    // A URL and a note as evidence, listed with kind and capture time.
    await q.getByText('Attach evidence').click();
    await q.getByLabel('URL', { exact: true }).fill('https://relay.example/pricing');
    await q.getByLabel('About it (optional)').fill('pricing page');
    await q.getByRole('button', { name: 'Attach URL' }).click();
    await q.locator('[data-kind="url"]').waitFor();
    assert.match(await text(q.locator('[data-kind="url"]')), /^URL https:\/\/relay\.example\/pricing 2026-03-02 12:00 UTC — pricing page Remove$/);
    await q.getByLabel('Note as evidence').fill('support confirmed the provider list by e-mail');
    await q.getByRole('button', { name: 'Attach note' }).click();
    await q.locator('[data-kind="note"]').waitFor();
    assert.deepEqual(b.callsTo('attach_url'), [{ id: 1, questionId: 'scope.providers', url: 'https://relay.example/pricing', note: 'pricing page' }]);
    assert.deepEqual(b.callsTo('attach_note'), [{ id: 1, questionId: 'scope.providers', text: 'support confirmed the provider list by e-mail' }]);
    // The same URL twice: the core's refusal with its code.
    await q.getByLabel('URL', { exact: true }).fill('https://relay.example/pricing');
    await q.getByRole('button', { name: 'Attach URL' }).click();
    const evErr = q.locator('[data-field="evidence-error"]');
    await evErr.waitFor();
    assert.equal(await evErr.getAttribute('data-code'), 'evidence_exists');

    // A file: its bytes as the raw body, the ids and the name as headers.
    await q.getByLabel('File', { exact: true }).setInputFiles({ name: 'terms ü.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 fake terms') });
    await q.getByRole('button', { name: 'Attach file' }).click();
    await q.locator('[data-kind="file"]').waitFor();
    const [upload] = b.callsTo('attach_file');
    assert.equal(Buffer.from(upload.__raw).toString(), '%PDF-1.4 fake terms');
    assert.deepEqual(upload.__headers, { 'x-assessment-id': '1', 'x-question-id': 'scope.providers', 'x-file-name': 'terms%20%C3%BC.pdf' });
    assert.match(await text(q.locator('[data-kind="file"]')), /^File terms ü\.pdf sha256 [0-9a-f]{12} 2026-03-02 12:00 UTC intact Remove$/);

    // Step 7, the paid test: the plan first, then the run.
    await wizard.getByRole('button', { name: /^7\. Small paid test/ }).click();
    assert.equal(await text(wizard.locator('#gw-step-title')), '7. Small paid test');
    const smoke = wizard.locator('#smoke-test');
    assert.equal(await smoke.getByLabel('Chat calls').inputValue(), '20');
    await smoke.getByLabel('Models (up to three)').fill('fake-mini');
    await smoke.getByLabel('Spend cap (USD)').fill('0.50');
    await smoke.getByLabel('Key', { exact: true }).fill(KEY);
    await smoke.getByRole('button', { name: 'Plan the test' }).click();
    const plan = smoke.locator('#smoke-plan-view');
    await plan.waitFor();
    assert.equal(await text(plan.locator('#smoke-plan-calls')), '21 paid calls');
    assert.equal(await text(plan.locator('#smoke-plan-cap')), 'USD 0.50');
    assert.equal(await text(plan.locator('#smoke-plan-worst')), 'USD 0.000252');
    // The core's sentence shows its amounts the same way.
    assert.match(await text(plan.locator('#smoke-plan-summary')), /at most USD 0\.000252; cap USD 0\.50\.$/);
    // Nothing was run, and the plan did not need the key (a model was named).
    assert.deepEqual(b.callsTo('smoke_run'), []);
    assert.deepEqual(b.callsTo('smoke_plan'), [{ id: 1, request: { models: ['fake-mini'], calls: 20, max_usd: '0.50', timeout_ms: null }, key: null }]);

    await plan.getByRole('button', { name: 'Run the paid test' }).click();
    const result = smoke.locator('#smoke-result');
    await result.waitFor();
    const runs = b.callsTo('smoke_run');
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0].key, { kind: 'secret', value: KEY });
    assert.equal(runs[0].plan.cap_micros, 500000);
    assert.equal(await text(result.locator('[data-field="calls"]')), '20/20');
    assert.equal(await text(result.locator('[data-field="calls-made"]')), '21');
    assert.equal(await text(result.locator('[data-field="bad-key"]')), '401, OpenAI-style JSON error');
    assert.equal(await text(result.locator('[data-field="latency"]')), '48 ms / 61 ms');
    assert.equal(await text(result.locator('[data-field="tokens"]')), '160 / 160');
    assert.equal(await text(result.locator('[data-field="cost"]')), 'USD 0.00012');
    assert.match(await text(result.locator('[data-field="multiplier"]')), /^— no Burnrate source is linked/);
    // The key went out once and is nowhere in the page now.
    assert.equal(await smoke.getByLabel('Key', { exact: true }).inputValue(), '');
    assert.ok(!(await page.content()).includes(KEY), 'the key is not left in the page');
    const calls = b.calls.filter((c) => JSON.stringify(c.args ?? {}).includes(KEY));
    assert.deepEqual(calls.map((c) => c.cmd), ['smoke_run']);
    // The result is listed as evidence on paid.calls.
    await wizard.locator('[data-question="paid.calls"] [data-kind="smoke"]').waitFor();

    // A red flag: the verdict turns to "do not use".
    await wizard.getByRole('button', { name: 'Next' }).click();
    assert.equal(await text(wizard.locator('#gw-step-title')), 'Red flags');
    await wizard.locator('[data-flag="unlimited"]').getByRole('checkbox').check();
    await wizard.locator('[data-flag="unlimited"]').getByText('Saved').waitFor();
    assert.deepEqual(b.callsTo('set_red_flag'), [{ id: 1, flagId: 'unlimited', checked: true }]);
    assert.equal(await wizard.locator('#gw-verdict-badge').getAttribute('data-level'), 'do_not_use');

    await wizard.getByRole('button', { name: 'Next' }).click();
    const verdict = wizard.locator('#gw-verdict');
    assert.match(await text(verdict), /Do not use Do not send production traffic/);
    assert.match(await text(verdict.locator('#gw-reasons')), /red flag: .*unlimited/i);
    assert.match(await text(verdict.locator('#gw-verdict-smoke')), /^Passed on 2026-03-02 12:00 UTC: 20\/20 chat calls ok/);

    // Export: the saved path is shown.
    await verdict.getByRole('button', { name: 'Export HTML' }).click();
    const saved = verdict.locator('#gw-export-result');
    await saved.waitFor();
    assert.equal(await text(saved), 'Saved the HTML report to /home/user/.local/share/burnrate/exports/gateway-check-1-20260302T120000Z.html');
    assert.deepEqual(b.callsTo('export_assessment_report'), [{ id: 1, format: 'html' }]);

    // Back to the list: the row shows the verdict and the progress.
    await wizard.getByRole('button', { name: 'All assessments' }).click();
    const row = page.locator('[data-assessment-id="1"]');
    await row.waitFor();
    assert.equal(await text(row.locator('[data-field="progress"]')), '1/29 answered');
    assert.equal(await row.locator('[data-field="verdict"]').getAttribute('data-level'), 'do_not_use');
  });

  test('a linked source: the plan says its balance is read, the result shows the multiplier', async () => {
    const b = new FakeBackend({ sources: [sourceView({ id: 1, name: 'relay-balance', provider: 'custom-json' })] });
    const { page } = await openPage(b);
    await openGateways(page);
    await page.getByRole('button', { name: 'New assessment' }).click();
    const form = page.locator('#gw-form');
    await form.getByLabel('Gateway name').fill('Linked relay');
    await form.getByLabel('Base URL').fill('https://relay.example/v1');
    await form.getByLabel('Source that reads its balance (optional)').selectOption('relay-balance');
    await form.getByRole('button', { name: 'Start the assessment' }).click();
    await page.locator('#gw-linked-source').waitFor();
    assert.equal(b.callsTo('new_assessment')[0].request.source, 'relay-balance');
    await page.getByRole('button', { name: /^7\. / }).click();
    const smoke = page.locator('#smoke-test');
    await smoke.getByLabel('Models (up to three)').fill('fake-mini, fake-large');
    await smoke.getByLabel('Key', { exact: true }).fill(KEY);
    await smoke.getByRole('button', { name: 'Plan the test' }).click();
    const plan = smoke.locator('#smoke-plan-view');
    await plan.waitFor();
    assert.match(await text(plan), /The balance of relay-balance is read before and after\./);
    assert.deepEqual(b.callsTo('smoke_plan')[0].request.models, ['fake-mini', 'fake-large']);
    b.checklist.smokeOverrides = { multiplier_bp: 12500, billed_micros: 150, balance_before_micros: 5000000, balance_after_micros: 4999850, balance_note: null };
    await plan.getByRole('button', { name: 'Run the paid test' }).click();
    const mult = smoke.locator('#smoke-result [data-field="multiplier"]');
    await mult.waitFor();
    assert.equal(await text(mult), '1.25× (billed USD 0.00015)');
  });

  test('with no model named, the plan reads the model list with the key; a missing key is asked for', async () => {
    const b = withAssessment();
    const { page } = await openPage(b);
    await openGateways(page);
    await page.getByRole('button', { name: 'Open Example relay' }).click();
    await page.locator('#gw-wizard').getByRole('button', { name: /^7\. / }).click();
    const smoke = page.locator('#smoke-test');
    await smoke.getByRole('button', { name: 'Plan the test' }).click();
    const err = smoke.locator('#smoke-plan-error');
    await err.waitFor();
    assert.equal(await err.getAttribute('data-code'), 'key_missing');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'smoke-key');
    assert.deepEqual(b.callsTo('smoke_plan'), []);

    // The environment-variable way: only the variable's name is sent.
    await smoke.getByRole('radio', { name: 'Environment variable of the app' }).check();
    await smoke.getByLabel('Variable name').fill('GATEWAY_KEY');
    await smoke.getByRole('button', { name: 'Plan the test' }).click();
    await smoke.locator('#smoke-plan-view').waitFor();
    assert.deepEqual(b.callsTo('smoke_plan')[0].key, { kind: 'env', var: 'GATEWAY_KEY' });

    // A run that stopped early says why.
    b.checklist.smokeOverrides = { passed: false, aborted: 'the gateway answered HTML instead of JSON (status 200)' };
    await smoke.getByRole('button', { name: 'Run the paid test' }).click();
    const aborted = smoke.locator('#smoke-aborted');
    await aborted.waitFor();
    assert.equal(await text(aborted), 'Stopped early: the gateway answered HTML instead of JSON (status 200)');
    assert.equal(await smoke.locator('#smoke-result').getAttribute('data-passed'), 'false');
  });

  test('a changed evidence file is shown loudly, in the list and in the wizard', async () => {
    const b = withAssessment();
    const a = b.checklist.items.get(1);
    const ok = b.checklist.addEvidence(a, { question_id: 'payment.receipts', kind: 'file', sha256: 'a'.repeat(64), name: 'receipt.pdf', size_bytes: 10 });
    const bad = b.checklist.addEvidence(a, { question_id: 'payment.receipts', kind: 'file', sha256: 'b'.repeat(64), name: 'invoice.pdf', size_bytes: 10 });
    b.checklist.tampered.set(bad.id, 'changed');
    const { page } = await openPage(b);
    await openGateways(page);
    const row = page.locator('[data-assessment-id="1"]');
    assert.equal(await text(row.locator('[data-field="integrity"]')), '1 evidence file changed, missing or damaged');
    await row.getByRole('button', { name: 'Open Example relay' }).click();
    const alert = page.locator('#gw-integrity-alert');
    await alert.waitFor();
    assert.match(await text(alert), /1 evidence file has changed or gone missing .* does not count them as evidence/);
    await page.getByRole('button', { name: /^3\. Payment records/ }).click();
    const changed = page.locator(`[data-evidence-id="${bad.id}"]`);
    assert.equal(await changed.getAttribute('data-integrity'), 'changed');
    assert.match(await text(changed.locator('[data-field="integrity"]')), /^CHANGED/);
    assert.equal(await text(page.locator(`[data-evidence-id="${ok.id}"] [data-field="integrity"]`)), 'intact');
  });

  test('evidence pages are re-checked on demand and a changed one is flagged everywhere', async () => {
    const b = withAssessment();
    const a = b.checklist.items.get(1);
    const url = 'https://relay.example/privacy';
    const page_ = b.checklist.addEvidence(a, { question_id: 'data.policy', kind: 'url', url, note: 'privacy policy' });
    const { page } = await openPage(b);
    await openGateways(page);
    await page.locator('[data-assessment-id="1"]').getByRole('button', { name: 'Open Example relay' }).click();
    await page.getByRole('button', { name: /Verdict and report$/ }).click();
    await page.click('#gw-check-pages');
    await page.locator('#gw-pages-result').waitFor();
    assert.match(await text(page.locator('#gw-pages-result')), /relay\.example\/privacy: fetched for the first time/);
    assert.equal(await page.locator('#gw-pages-changed').count(), 0);

    b.checklist.changedPages = new Set([url]);
    await page.click('#gw-check-pages');
    await page.locator('#gw-pages-result li[data-status="changed"]').waitFor();
    assert.match(await text(page.locator('#gw-pages-changed')), /^1 page attached as evidence changed/);
    assert.deepEqual(b.callsTo('recheck_urls').map((c) => c.id), [1, 1]);
    await page.getByRole('button', { name: /Data handling/ }).click();
    assert.match(await text(page.locator(`[data-evidence-id="${page_.id}"] [data-field="page-changed"]`)), /^page changed/);
    await page.click('#gw-back-to-list');
    assert.equal(await text(page.locator('[data-assessment-id="1"] [data-field="pages-changed"]')), '1 evidence page changed');
  });

  test('the details can be changed later; answers stay and the claim box follows', async () => {
    const b = withAssessment();
    b.checklist.items.get(1).answers['keys.per_account'] = { answer: 'pass', note: null };
    const { page } = await openPage(b);
    await openGateways(page);
    await page.locator('[data-assessment-id="1"]').getByRole('button', { name: 'Open Example relay' }).click();
    await page.click('#gw-edit-details');
    assert.equal(await page.inputValue('#gw-edit-name'), 'Example relay', 'the form starts from the saved details');
    assert.equal(await page.inputValue('#gw-edit-recheck-days'), '90');
    await page.fill('#gw-edit-recheck-days', '0');
    await page.click('#gw-edit-submit');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'gw-edit-recheck-days');
    assert.equal(b.callsTo('update_assessment').length, 0, 'refused before it is sent');
    await page.fill('#gw-edit-recheck-days', '30');
    await page.fill('#gw-edit-name', 'Example relay (EU)');
    await page.selectOption('#gw-edit-claim', 'authorized_reseller');
    await page.click('#gw-edit-submit');
    await page.locator('#gw-edit-form').waitFor({ state: 'detached' });
    assert.deepEqual(b.callsTo('update_assessment'), [
      { id: 1, request: { name: 'Example relay (EU)', base_url: 'https://relay.example/v1', claim: 'authorized_reseller', source: null, recheck_after_days: 30 } },
    ]);
    assert.equal(await text(page.locator('#gw-wizard-title')), 'Example relay (EU)');
    assert.match(await text(page.locator('#gw-claim-box')), /Claim: Authorized reseller/);
    assert.match(await text(page.locator('#gw-progress')), /^1\//, 'the answer is kept');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'gw-edit-details');
  });

  test('one evidence item can be removed after a confirmation', async () => {
    const b = withAssessment();
    const a = b.checklist.items.get(1);
    const keep = b.checklist.addEvidence(a, { question_id: 'scope.providers', kind: 'note', note: 'five providers named' });
    const gone = b.checklist.addEvidence(a, { question_id: 'scope.providers', kind: 'url', url: 'https://relay.example/wrong' });
    const { page } = await openPage(b);
    await openGateways(page);
    await page.locator('[data-assessment-id="1"]').getByRole('button', { name: 'Open Example relay' }).click();
    const item = page.locator(`[data-evidence-id="${gone.id}"]`);
    await item.locator('[data-action="remove-evidence"]').click();
    await item.locator('[data-action="cancel-remove-evidence"]').click();
    assert.equal(b.callsTo('remove_evidence').length, 0, 'Keep sends nothing');
    await item.locator('[data-action="remove-evidence"]').click();
    await item.locator('[data-action="confirm-remove-evidence"]').click();
    await item.waitFor({ state: 'detached' });
    assert.deepEqual(b.callsTo('remove_evidence'), [{ id: 1, evidenceId: gone.id }]);
    assert.equal(await page.locator(`[data-evidence-id="${keep.id}"]`).count(), 1);
  });

  test('duplicate and delete (with confirmation) from the list', async () => {
    const b = withAssessment();
    const { page } = await openPage(b);
    await openGateways(page);
    await page.getByRole('button', { name: 'Duplicate Example relay' }).click();
    await page.locator('[data-assessment-id="2"]').waitFor();
    assert.deepEqual(b.callsTo('duplicate_assessment'), [{ id: 1 }]);
    await page.locator('[data-assessment-id="2"]').getByRole('button', { name: 'Delete Example relay' }).click();
    // Nothing is deleted before the confirmation.
    assert.deepEqual(b.callsTo('delete_assessment'), []);
    await page.locator('[data-assessment-id="2"]').getByRole('button', { name: 'Delete', exact: true }).click();
    await eventually(async () => (await page.locator('[data-assessment-id="2"]').count()) === 0);
    assert.deepEqual(b.callsTo('delete_assessment'), [{ id: 2 }]);
    assert.equal(await page.locator('[data-assessment-id="1"]').count(), 1);
  });

  test('a failed save says so with its code', async () => {
    const b = withAssessment().on('answer_question', () => reject('database', 'the database is locked; try again'));
    const { page } = await openPage(b);
    await openGateways(page);
    await page.getByRole('button', { name: 'Open Example relay' }).click();
    const q = page.locator('[data-question="scope.relationship"]');
    await q.getByRole('radio', { name: 'Fail' }).check();
    const st = q.locator('[data-field="save-state"] .error-text');
    await st.waitFor();
    assert.equal(await text(st), 'Not saved: the database is locked; try again (database)');
  });

  test('keyboard only: through the stepper, answering with arrow keys', async () => {
    const b = withAssessment();
    const { page } = await openPage(b);
    await page.getByRole('tab', { name: 'Spend' }).focus();
    // Tabs: arrows move between them.
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-gateways');
    await page.locator('[data-assessment-id="1"] [data-action="open"]').waitFor();
    // Tab to "Open" and press Enter.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.getAttribute('data-action') === 'open')) break;
    }
    await page.keyboard.press('Enter');
    await page.locator('#gw-wizard').waitFor();
    // The stepper: buttons with aria-current on the current step.
    const current = page.locator('#gw-stepper [aria-current="step"]');
    assert.equal(await text(current), '1. Provider scope 0/4');
    // Tab onto step 2 and press Enter: focus moves to the step's heading.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.getAttribute('data-step') === 'keys')) break;
    }
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'gw-step-title');
    assert.equal(await text(page.locator('#gw-step-title')), '2. Key management');
    assert.equal(await current.getAttribute('data-step'), 'keys');
    // Tab to the first answer group and choose with the arrow keys: each choice saves.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'answer-keys.per_account');
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowRight');
    await eventually(() => b.callsTo('answer_question').length === 2);
    assert.deepEqual(b.callsTo('answer_question').map((c) => c.answer), ['pass', 'fail']);
    await page.locator('[data-question="keys.per_account"]').getByText('Saved').waitFor();
    // Next / Back with the keyboard.
    await page.locator('#gw-next').focus();
    await page.keyboard.press('Enter');
    assert.equal(await text(page.locator('#gw-step-title')), '3. Payment records');
    await page.locator('#gw-prev').focus();
    await page.keyboard.press('Enter');
    assert.equal(await text(page.locator('#gw-step-title')), '2. Key management');
    // Focus is visible on the stepper buttons.
    await page.locator('#gw-stepper [data-step="scope"]').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, 'solid');
  });

  for (const colorScheme of ['light', 'dark']) {
    test(`readable contrast in the ${colorScheme} theme`, async () => {
      const b = withAssessment();
      const a = b.checklist.items.get(1);
      const bad = b.checklist.addEvidence(a, { question_id: 'scope.relationship', kind: 'file', sha256: 'c'.repeat(64), name: 'contract.pdf', size_bytes: 10 });
      b.checklist.tampered.set(bad.id, 'missing');
      a.answers['scope.providers'] = { answer: 'pass', note: null };
      const { page } = await openPage(b, { colorScheme });
      await openGateways(page);
      assert.deepEqual(await lowContrastText(page), []);
      await page.getByRole('button', { name: 'Open Example relay' }).click();
      await page.locator('#gw-wizard').waitFor();
      await page.locator('[data-question="scope.relationship"]').getByText('Attach evidence').click();
      assert.deepEqual(await lowContrastText(page), []);
      await page.getByRole('button', { name: /^7\. / }).click();
      await page.locator('#smoke-test').getByLabel('Models (up to three)').fill('fake-mini');
      await page.locator('#smoke-test').getByRole('button', { name: 'Plan the test' }).click();
      await page.locator('#smoke-plan-view').waitFor();
      assert.deepEqual(await lowContrastText(page), []);
      await page.getByRole('button', { name: 'Verdict and report' }).click();
      assert.deepEqual(await lowContrastText(page), []);
    });
  }
});
