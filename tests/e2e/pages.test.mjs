// The console's list pages in headless Chromium against the real server on a fresh SQLite file:
// adding, searching and lifting suppressions with their history, a 10,000-line import with its
// progress bar and rejected line, what a viewer sees and may not do, and the audit log with its
// verified hash chain. The tests run in order and build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { startServer, openBrowser, signIn as harnessSignIn, callApi } from './harness.mjs';

let server;
let browser;

const signIn = (page, username, password) => harnessSignIn(page, server.url, username, password);
let scratch;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'rebound-e2e-files-'));
});

after(async () => {
  await browser?.browser.close();
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
}

async function addThroughForm(page, address, reason, note) {
  await page.getByLabel('Address or domain', { exact: true }).fill(address);
  await page.locator('#add-reason').selectOption(reason);
  await page.getByLabel('Note', { exact: true }).fill(note);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByTestId('add-result').filter({ hasText: `${address}: created` }).waitFor();
}

async function lift(page, reason) {
  await page.getByLabel('Why may it be sent to again?').fill(reason);
  await page.getByRole('button', { name: 'Lift', exact: true }).click();
}

test('add an address, find it as you type, lift it with a reason, see the lift in its history', async () => {
  const { page, errors } = browser;
  await signIn(page, 'admin', server.password);
  await page.getByRole('link', { name: 'Suppressions' }).click();
  await page.getByRole('heading', { name: 'Suppressions' }).waitFor();

  await addThroughForm(page, 'bob@example.net', 'manual', 'another one');
  await addThroughForm(page, 'Jane.Doe@Example.ORG', 'hard_bounce', '<img src=x onerror="window.__pwned=1">');
  await page.getByTestId('detail-address').filter({ hasText: 'Jane.Doe@example.org' }).waitFor();
  await page.getByRole('button', { name: 'Close' }).click();

  await page.getByLabel('Address starts with').pressSequentially('jane.d', { delay: 30 });
  const rows = page.getByTestId('suppression-row');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length === 1);
  assert.match(await rows.first().textContent(), /Jane\.Doe@example\.org.*hard_bounce/);

  await rows.first().getByTestId('open-entry').click();
  await page.getByTestId('detail-status').filter({ hasText: 'active' }).waitFor();
  await lift(page, '');
  await page.getByTestId('error-reason').waitFor();
  assert.equal(await page.getByTestId('error-reason').textContent(), 'must not be empty');

  await lift(page, 'confirmed valid by the customer');
  await page.getByTestId('detail-status').filter({ hasText: 'lifted' }).waitFor();
  const history = page.getByTestId('history-entry');
  assert.equal(await history.count(), 2);
  assert.match(await history.nth(0).textContent(), /suppression\.lift · user:admin .*Reason: confirmed valid by the customer/s);
  assert.match(await history.nth(1).textContent(), /suppression\.add · user:admin/);
  await rows.first().filter({ hasText: 'lifted' }).waitFor();

  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
});

test('a complaint is lifted only with the explicit confirmation; filters and "Load more" page the list', async () => {
  const { page, errors } = browser;
  await page.getByLabel('Address starts with').fill('');
  await addThroughForm(page, 'angry@example.com', 'complaint', 'ARF report');
  await page.getByTestId('detail-address').filter({ hasText: 'angry@example.com' }).waitFor();
  await lift(page, 'asked to be mailed again');
  await page.getByTestId('error-confirm_complaint').waitFor();
  await page.getByLabel(/I confirm the recipient may be mailed again/).check();
  await page.getByRole('button', { name: 'Lift', exact: true }).click();
  await page.getByTestId('detail-status').filter({ hasText: 'lifted' }).waitFor();
  await page.getByRole('button', { name: 'Close' }).click();

  for (let i = 0; i < 60; i += 1) {
    const { status } = await callApi(page, 'POST', '/suppressions', { address: `bulk${String(i).padStart(2, '0')}@example.com` });
    assert.equal(status, 201);
  }
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length === 50);
  await page.getByTestId('load-more').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length === 63);
  assert.equal(await page.getByTestId('load-more').count(), 0);

  await page.locator('#filter-active').selectOption('lifted');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length === 2);
  await page.locator('#filter-reason').selectOption('complaint');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length === 1);
  assert.match(await page.getByTestId('suppression-row').textContent(), /angry@example\.com/);
  assert.deepEqual(errors, []);
});

test('a 10,000-line import shows its progress up to 100%, then the report with the rejected line', async () => {
  const { page, errors, requests } = browser;
  const lines = [];
  for (let i = 1; i <= 10_000; i += 1) lines.push(i === 4321 ? 'this is not an address' : `user${i}@import.example`);
  const file = join(scratch, 'list.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);

  await page.getByRole('link', { name: 'Import' }).click();
  await page.getByRole('heading', { name: 'Import', exact: true }).waitFor();
  await page.locator('#import-file').setInputFiles(file);
  const seen = [];
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const bar = page.getByTestId('import-progress');
  await bar.waitFor();
  for (let i = 0; i < 600; i += 1) {
    const value = Number(await bar.getAttribute('value'));
    if (seen.at(-1) !== value) seen.push(value);
    if (value === 100) break;
    await page.waitForTimeout(25);
  }
  assert.equal(seen.at(-1), 100, `progress seen: ${seen}`);
  assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'progress never goes back');
  await page.getByTestId('import-report').waitFor();
  assert.match(await page.getByTestId('import-progress-text').textContent(), /^100% · 10000 lines committed/);
  assert.equal(await page.getByTestId('report-lines').textContent(), '10000');
  assert.equal(await page.getByTestId('report-created').textContent(), '9999');
  assert.equal(await page.getByTestId('report-rejected').textContent(), '1');
  assert.match(await page.getByTestId('rejected-lines').textContent(), /4321\s*this is not an address/);
  assert.ok(requests.some((url) => /\/api\/v1\/imports\/\d+$/.test(url)), 'the job was polled');

  const exported = await page.evaluate(async (href) => (await fetch(href)).text(),
    await page.getByTestId('export-text').getAttribute('href'));
  assert.match(exported, /^user4320@import\.example$/m);
  assert.match(exported, /^bob@example\.net$/m);
  assert.deepEqual(errors, []);
});

test('an import whose upload broke off is listed as interrupted, and resumed with the same file', async () => {
  const { page, context, errors } = browser;
  const lines = [];
  for (let i = 1; i <= 3_000; i += 1) lines.push(`resume${i}@import.example`);
  const file = join(scratch, 'resume.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const created = await callApi(page, 'POST', '/imports', { format: 'text' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;

  // The first 1,000 lines, then the connection drops: what was read is committed, the job waits.
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  await new Promise((resolve) => {
    const request = http.request(new URL(`/api/v1/imports/${id}/data`, server.url), {
      method: 'PUT',
      headers: { Cookie: cookie, 'X-Rebound-Csrf': '1', 'Content-Length': 1_000_000 },
    });
    request.on('error', resolve);
    request.write(`${lines.slice(0, 1_000).join('\n')}\n`, () => setTimeout(() => { request.destroy(); resolve(); }, 300));
  });
  let job;
  for (let i = 0; i < 100; i += 1) {
    job = (await callApi(page, 'GET', `/imports/${id}`)).body;
    if (job.state === 'interrupted') break;
    await page.waitForTimeout(50);
  }
  assert.equal(job.state, 'interrupted', JSON.stringify(job));
  assert.equal(job.lines, 1_000);

  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await page.getByRole('link', { name: 'Import', exact: true }).click();
  const listed = page.getByTestId('interrupted-imports');
  await listed.getByText(`Import ${id} · text · 1000 lines committed`).waitFor();
  await page.locator('#import-file').setInputFiles(file);
  await listed.getByRole('button', { name: `Resume import ${id}` }).click();
  await page.getByRole('heading', { name: `Import ${id} · done` }).waitFor();
  assert.equal(await page.getByTestId('report-lines').textContent(), '3000');
  assert.equal(await page.getByTestId('report-created').textContent(), '3000');
  await listed.waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
});

test('a viewer sees no write action, and a forced write from that session is refused', async () => {
  const { page, errors } = browser;
  const created = await callApi(page, 'POST', '/users', { username: 'vera', role: 'viewer', password: 'a long viewer password' });
  assert.equal(created.status, 201);
  await signOut(page);
  await signIn(page, 'vera', 'a long viewer password');

  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Suppressions' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length > 0);
  assert.equal(await nav.getByRole('link', { name: 'Import' }).count(), 0);
  assert.equal(await page.getByRole('heading', { name: 'Add an address or domain' }).count(), 0);
  await page.getByLabel('Address starts with').fill('bob@');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="suppression-row"]').length === 1);
  await page.getByTestId('open-entry').click();
  await page.getByTestId('detail-status').filter({ hasText: 'active' }).waitFor();
  await page.getByTestId('history-entry').first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Lift', exact: true }).count(), 0);

  await page.goto(`${server.url}import`);
  await page.getByTestId('import-not-allowed').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Import', exact: true }).count(), 0);
  await page.getByTestId('export-csv').waitFor();

  const add = await callApi(page, 'POST', '/suppressions', { address: 'sneaky@example.com' });
  assert.equal(add.status, 403);
  const detail = await page.evaluate(async () => (await fetch('/api/v1/suppressions?q=bob@')).json());
  const lifted = await callApi(page, 'POST', `/suppressions/${detail.items[0].id}/lift`, { reason: 'viewer tries' });
  assert.equal(lifted.status, 403);
  assert.deepEqual(errors, []);
});

test('the audit page lists the changes with before and after, filters them, and shows the chain verified', async () => {
  const { page, errors } = browser;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await page.getByTestId('chain-status').filter({ hasText: 'Chain verified' }).waitFor();
  assert.match(await page.getByTestId('chain-status').textContent(), /^Chain verified: \d+ rows, unaltered\.$/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-entry"]').length === 50);
  const actions = await page.getByTestId('audit-action').allTextContents();
  for (const action of ['user.create', 'suppression.add']) {
    assert.ok(actions.includes(action), `${action} in ${actions}`);
  }
  await page.getByTestId('load-more').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-entry"]').length > 50);

  await page.getByLabel('Action').fill('suppression.lift');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-entry"]').length === 2);
  assert.deepEqual(await page.getByTestId('audit-action').allTextContents(), ['suppression.lift', 'suppression.lift']);
  await page.getByLabel('Target').fill('global:jane.doe@example.org');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-entry"]').length === 1);
  const entry = page.getByTestId('audit-entry');
  assert.match(await entry.textContent(), /Reason: confirmed valid by the customer/);
  const json = async (label) => {
    const block = entry.locator('details').filter({ has: page.locator('summary', { hasText: new RegExp(`^${label}$`) }) });
    await block.locator('summary').click();
    return block.locator('pre').textContent();
  };
  assert.match(await json('After'), /"active": false/);
  assert.match(await json('Before'), /<img src=x onerror=\\"window\.__pwned=1\\">/);
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
});
