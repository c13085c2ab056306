// The Unclassified page in headless Chromium against the real server: bounces no rule explains,
// grouped by what they say; a rule drafted from a group, tested on its examples in the page,
// previewed against stored events, saved, and then classifying the next such bounce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, signIn, callApi } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await server?.stop();
});

test('a group of unexplained bounces becomes a rule, tested, previewed and saved', async () => {
  const { page, errors } = browser;
  await signIn(page, server.url, 'admin', server.password);
  const events = ['ann', 'bob', 'cyd'].map((name, i) => ({
    recipient: `${name}@example.com`,
    reply: `550 Frobnicated by the gateway, ticket ${1000 + i * 17}`,
  }));
  events.push({ recipient: 'dee@example.com', reply: '550 Something odd happened here' });
  const recorded = await callApi(page, 'POST', '/events', { events });
  assert.equal(recorded.status, 200);
  assert.ok(recorded.body.results.every((r) => r.verdict.kind === 'unknown'));

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Unclassified' }).click();
  await page.getByRole('heading', { name: 'Unclassified' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="unclassified-group"]').length === 2);
  const first = page.getByTestId('unclassified-group').first();
  assert.equal(await first.getByTestId('group-shape').textContent(), '550 Frobnicated by the gateway, ticket <n>');
  assert.equal(await first.locator('td').nth(1).textContent(), '3');

  await first.getByRole('button', { name: 'Write a rule' }).click();
  await page.getByTestId('rule-draft').waitFor();
  assert.match(await page.getByLabel('Pattern').inputValue(), /Frobnicated\\s\+by/);
  await page.getByLabel('Reason').selectOption('user_unknown');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="draft-test-result"] li').length === 3);
  const results = await page.getByTestId('draft-test-result').locator('li').allTextContents();
  assert.ok(results.every((r) => r.startsWith('hard · user_unknown · rule unclassified_1')), results.join('\n'));

  await page.getByRole('button', { name: 'Preview the change' }).click();
  await page.getByTestId('preview-result').waitFor();
  assert.equal(await page.getByTestId('preview-result').textContent(), 'Would change 3 of the 4 most recent stored events.');

  await page.getByRole('button', { name: 'Save the rule' }).click();
  await page.getByTestId('draft-saved').waitFor();
  const stored = await callApi(page, 'GET', '/settings/policy');
  assert.equal(stored.body.rules.at(-1).id, 'unclassified_1');
  assert.equal(stored.body.rules.at(-1).reason, 'user_unknown');

  const next = await callApi(page, 'POST', '/events', { recipient: 'eve@example.com', reply: '550 Frobnicated by the gateway, ticket 4242' });
  assert.equal(next.body.results[0].verdict.rule, 'unclassified_1');
  assert.equal(next.body.results[0].verdict.kind, 'hard');
  assert.deepEqual(errors, []);
});
