// Importing a provider's CSV usage export from the Spend tab: the file's text goes to the core
// through import_csv, first as a dry run whose counts the user confirms (or not), then for real;
// the outcome is shown, and the reports are re-read after a success.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBackend, eventually, reject, sourceView, useBrowserApp } from './harness.mjs';

const openPage = useBrowserApp();

const CSV = 'day,amount,currency,key_id,key_name,model,kind\n2026-01-12,1.25,USD,key_a,,gpt-5,billed\n2026-01-13,2.5,USD,key_a,,gpt-5,billed\n';
const ROW = { day: '2026-01-13', source: 'books', provider: 'openai', key_id: null, key_name: null, model: null, currency: 'USD', amount: '2.500000', kind: 'billed' };

function backend() {
  return new FakeBackend({
    sources: [
      sourceView({ id: 1, name: 'team-openai', provider: 'openai' }),
      sourceView({ id: 2, name: 'books', provider: 'openai' }),
    ],
  });
}

const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

/** What the core answers for CSV: nothing replaced unless `replaced` says so. */
function summary({ source, format, dryRun, replaced = [], rows_replaced = 0, synced = 0 }) {
  return {
    source,
    format,
    lines: 2,
    rows_written: 2,
    from: '2026-01-12',
    to: '2026-01-13',
    kinds: ['billed'],
    dry_run: dryRun,
    days: 2,
    rows_replaced,
    synced_billed_rows_replaced: synced,
    replaced,
  };
}

const RANGE = { kind: 'billed', from: '2026-01-12', to: '2026-01-13', days: 2, rows_imported: 2, rows_replaced: 0, synced_rows_replaced: 0 };

describe('CSV import', () => {
  test('shows what the file would write, then imports it when confirmed', async () => {
    const b = backend().on('import_csv', ({ source, format, dryRun }) => {
      if (!dryRun) b.report = [ROW];
      return summary({ source, format, dryRun, replaced: [RANGE] });
    });
    const { page } = await openPage(b);
    const form = page.locator('#import-csv');
    await form.getByLabel('Source').selectOption('books');
    await form.getByLabel('Format').selectOption('generic');
    await assert.doesNotReject(form.getByText('Columns: day, amount, currency').waitFor());
    await form.getByLabel('CSV file').setInputFiles({ name: 'usage.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    const reportsBefore = b.callsTo('daily_report').length;
    await form.getByRole('button', { name: 'Import' }).click();

    const confirm = form.getByRole('group', { name: /^Import 2 lines/ });
    await confirm.waitFor();
    assert.equal(
      await text(confirm.locator('#import-confirm')),
      'Import 2 lines as 2 ledger rows into books on 2 days between 2026-01-12 and 2026-01-13? Nothing in the ledger is replaced. Days without a line in the file are left alone.',
    );
    assert.equal(await text(form.locator('[data-field="import-preview"]')), '2026-01-12 to 2026-01-13, billed: 2 rows from the file');
    assert.deepEqual(b.callsTo('import_csv'), [{ source: 'books', format: 'generic', data: CSV, dryRun: true }]);
    assert.equal(b.callsTo('daily_report').length, reportsBefore, 'a preview changes nothing to re-read');

    await confirm.getByRole('button', { name: 'Import 2 rows' }).click();
    const result = form.locator('[data-field="import-result"]');
    await result.waitFor();
    assert.equal(await text(result), 'Imported 2 lines into books: 2 ledger rows (billed), 2026-01-12 to 2026-01-13.');
    assert.deepEqual(b.callsTo('import_csv'), [
      { source: 'books', format: 'generic', data: CSV, dryRun: true },
      { source: 'books', format: 'generic', data: CSV, dryRun: false },
    ]);
    assert.equal(await form.locator('[data-field="import-preview"]').count(), 0);
    // The spend table is re-read and shows the imported day.
    await eventually(() => b.callsTo('daily_report').length > reportsBefore);
    await page.locator('#daily-spend').getByText('books').waitFor();
  });

  test('replacing a sync\'s billed rows is said with the counts before anything is written; Cancel writes nothing', async () => {
    const replaced = [
      { ...RANGE, to: '2026-01-12', days: 1, rows_imported: 1, rows_replaced: 3, synced_rows_replaced: 3 },
      { ...RANGE, from: '2026-01-13', days: 1, rows_imported: 1, rows_replaced: 1, synced_rows_replaced: 0 },
    ];
    const b = backend().on('import_csv', ({ source, format, dryRun }) =>
      summary({ source, format, dryRun, replaced, rows_replaced: 4, synced: 3 }),
    );
    const { page } = await openPage(b);
    const form = page.locator('#import-csv');
    await form.getByLabel('CSV file').setInputFiles({ name: 'usage.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await form.getByRole('button', { name: 'Import' }).click();

    const warning = form.locator('[data-field="import-synced-warning"]');
    await warning.waitFor();
    assert.equal(
      await text(warning),
      "3 billed rows that a sync of team-openai wrote (the provider's own bill) on 2026-01-12 would be replaced by the file's amounts.",
    );
    assert.equal(
      await text(form.locator('[data-field="import-preview"] ul')),
      '2026-01-12, billed: 1 row from the file, replacing 3 rows (3 from a sync) 2026-01-13, billed: 1 row from the file, replacing 1 row',
    );
    const confirm = form.getByRole('group', { name: /^Import 2 lines/ });
    assert.match(await text(confirm.locator('#import-confirm')), /4 rows already in the ledger on those days will be replaced\./);
    const replace = confirm.getByRole('button', { name: 'Import and replace 4 rows' });
    assert.match(await replace.getAttribute('class'), /danger/);
    // The safe choice has the focus; it closes the preview and writes nothing.
    const cancel = confirm.getByRole('button', { name: 'Cancel' });
    await eventually(async () => (await page.evaluate(() => document.activeElement?.textContent?.trim())) === 'Cancel');
    await cancel.click();
    await eventually(async () => (await form.locator('[data-field="import-preview"]').count()) === 0);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'import-csv');
    assert.deepEqual(
      b.callsTo('import_csv').map((c) => c.dryRun),
      [true],
      'only the dry run was sent',
    );
    assert.equal(await form.locator('[data-field="import-result"]').count(), 0);
  });

  test('a rejected file shows the line and column and says nothing was imported', async () => {
    const b = backend().on('import_csv', () =>
      reject('invalid_input', 'line 3, column amount: "2,5" is not a decimal amount; nothing was imported'),
    );
    const { page } = await openPage(b);
    const form = page.locator('#import-csv');
    await form.getByLabel('CSV file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await form.getByRole('button', { name: 'Import' }).click();
    const error = form.locator('[data-field="import-error"]');
    await error.waitFor();
    assert.match(await text(error), /^Nothing was imported: line 3, column amount: "2,5" is not a decimal amount/);
    assert.equal(await error.getAttribute('data-code'), 'invalid_input');
    assert.equal(await form.locator('[data-field="import-result"]').count(), 0);
  });

  test('importing without a file asks for one and sends nothing', async () => {
    const b = backend();
    const { page } = await openPage(b);
    const form = page.locator('#import-csv');
    await form.getByRole('button', { name: 'Import' }).click();
    await form.getByText('Choose the CSV file to import.').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'file');
    assert.deepEqual(b.callsTo('import_csv'), []);
  });
});
