// Importing a provider's CSV usage export from the Spend tab: the file's text goes to the core
// through import_csv, the outcome is shown, and the reports are re-read after a success.
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

describe('CSV import', () => {
  test('sends the chosen file to the chosen source and shows what was written', async () => {
    const b = backend().on('import_csv', ({ source, format }) => {
      b.report = [ROW];
      return { source, format, lines: 2, rows_written: 2, from: '2026-01-12', to: '2026-01-13', kinds: ['billed'] };
    });
    const { page } = await openPage(b);
    const form = page.locator('#import-csv');
    await form.getByLabel('Source').selectOption('books');
    await form.getByLabel('Format').selectOption('generic');
    await assert.doesNotReject(form.getByText('Columns: day, amount, currency').waitFor());
    await form.getByLabel('CSV file').setInputFiles({ name: 'usage.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    const reportsBefore = b.callsTo('daily_report').length;
    await form.getByRole('button', { name: 'Import' }).click();

    const result = form.locator('[data-field="import-result"]');
    await result.waitFor();
    assert.equal(await text(result), 'Imported 2 lines into books: 2 ledger rows (billed), 2026-01-12 to 2026-01-13.');
    assert.deepEqual(b.callsTo('import_csv'), [{ source: 'books', format: 'generic', data: CSV }]);
    // The spend table is re-read and shows the imported day.
    await eventually(() => b.callsTo('daily_report').length > reportsBefore);
    await page.locator('#daily-spend').getByText('books').waitFor();
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
