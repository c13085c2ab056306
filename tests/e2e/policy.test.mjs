// The policy page in headless Chromium against the real server: field-level errors from the
// server's validation, a staff rule tried in the test box and previewed against a stored event,
// a saved threshold seen in the audit log, the alert thresholds with an industry preset, and a
// viewer who may read both but save neither.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, signIn as harnessSignIn, callApi } from './harness.mjs';

let server;
let browser;

const signIn = (page, username, password) => harnessSignIn(page, server.url, username, password);

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await server?.stop();
});

test('errors next to their fields, a rule tested and previewed, a saved threshold in the audit log', async () => {
  const { page, errors } = browser;
  await signIn(page, 'admin', server.password);
  const recorded = await callApi(page, 'POST', '/events', { recipient: 'ann@example.com', reply: '550 5.1.1 zorkmid flux overflow' });
  assert.equal(recorded.status, 200);
  assert.equal(recorded.body.results[0].verdict.kind, 'hard');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policy' }).click();
  await page.getByRole('heading', { name: 'Thresholds and policy' }).waitFor();
  assert.equal(await page.getByLabel('Soft bounces that suppress').inputValue(), '3');

  await page.getByLabel('Within days').fill('400');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('error-soft_window_days').waitFor();
  assert.equal(await page.getByTestId('error-soft_window_days').textContent(), 'must be between 1 and 365, not 400');
  await page.getByLabel('Within days').fill('30');

  await page.getByRole('button', { name: 'Add a rule' }).click();
  await page.getByLabel('Pattern').fill('zorkmid (flux');
  await page.locator('#rule-0-reason').selectOption('mailbox_full');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('error-rules[0].pattern').waitFor();
  assert.match(await page.getByTestId('error-rules[0].pattern').textContent(), /does not compile/);

  await page.getByLabel('Pattern').fill('zorkmid flux');
  await page.getByLabel('A reply or bounce to classify').fill('550 5.1.1 zorkmid flux overflow');
  await page.getByTestId('rule-test-result').filter({ hasText: 'soft · mailbox_full · rule staff_rule_1' }).waitFor();
  await page.getByRole('button', { name: 'Preview the change' }).click();
  await page.getByTestId('preview-result').waitFor();
  assert.equal(await page.getByTestId('preview-result').textContent(), 'Would change 1 of the 1 most recent stored events.');

  await page.getByLabel('Soft bounces that suppress').fill('5');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('policy-saved').waitFor();
  const stored = await callApi(page, 'GET', '/settings/policy');
  assert.equal(stored.body.soft_threshold, 5);
  assert.equal(stored.body.rules[0].pattern, 'zorkmid flux');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await page.getByLabel('Action').fill('settings.update');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-entry"]').length === 1);
  const entry = page.getByTestId('audit-entry');
  const after = entry.locator('details').filter({ has: page.locator('summary', { hasText: /^After$/ }) });
  await after.locator('summary').click();
  assert.match(await after.locator('pre').textContent(), /"soft_threshold": 5/);
  assert.deepEqual(errors, []);
});

test('alert thresholds: an industry preset, errors next to their fields, saved and read back', async () => {
  const { page, errors } = browser;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policy' }).click();
  await page.getByRole('heading', { name: 'Alert thresholds' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="threshold-row"]').length === 5);
  assert.equal(await page.locator('#alert-0-metric').inputValue(), 'bounce_rate');
  assert.equal(await page.locator('#alert-0-scope').inputValue(), 'all');
  assert.equal(Number(await page.locator('#alert-0-warning').inputValue()), 2);
  assert.equal(await page.locator('#alert-0-action').inputValue(), 'pause');
  assert.deepEqual(await page.locator('#alert-0-action option').allTextContents(), ['notify', 'pause']);
  assert.equal(await page.locator('#alert-0-metric option').count(), 6);

  await page.getByLabel('Industry preset').selectOption('financial');
  assert.equal(Number(await page.locator('#alert-0-warning').inputValue()), 0.5);
  assert.equal(Number(await page.locator('#alert-0-critical').inputValue()), 1);

  await page.locator('#alert-1-critical').fill('0.5');
  await page.getByLabel('Window (hours)').fill('500');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('error-window_hours').waitFor();
  assert.equal(await page.getByTestId('error-window_hours').textContent(), 'must be between 1 and 168 hours');
  await page.getByLabel('Window (hours)').fill('48');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('error-thresholds[1].critical').waitFor();
  assert.equal(await page.getByTestId('error-thresholds[1].critical').textContent(), 'must be above the warning level and at most 100');
  await page.locator('#alert-1-critical').fill('2.5');

  await page.getByRole('button', { name: 'Add a threshold' }).click();
  await page.locator('#alert-5-scope').fill('everywhere');
  await page.locator('#alert-5-scope').blur();
  // A preset applies to the settings as the server reads them: not while a scope is unreadable.
  await page.getByLabel('Industry preset').selectOption('media');
  assert.match(await page.getByTestId('error-preset').textContent(), /`everywhere` is not a scope/);
  assert.equal(Number(await page.locator('#alert-0-warning').inputValue()), 0.5);
  await page.getByRole('button', { name: 'Save policy' }).click();
  assert.match(await page.getByTestId('error-thresholds[5].scope').textContent(), /is not a scope/);
  await page.locator('#alert-5-scope').fill('all');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('error-thresholds[5].scope').filter({ hasText: 'thresholds[0] already covers' }).waitFor();
  await page.locator('#alert-5-action').selectOption('pause');
  await page.locator('#alert-5-scope').fill('campaign:spring');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('policy-saved').waitFor();

  const stored = (await callApi(page, 'GET', '/settings/monitoring')).body;
  assert.equal(stored.window_hours, 48);
  assert.deepEqual([stored.thresholds[0].warning, stored.thresholds[0].critical], [0.5, 1]);
  assert.equal(stored.thresholds[1].critical, 2.5);
  assert.deepEqual(stored.thresholds[5], { metric: 'bounce_rate', scope: 'campaign:spring', warning: 5, critical: 10, action: 'pause' });
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="threshold-row"]').length === 6);
  assert.equal(await page.locator('#alert-5-scope').inputValue(), 'campaign:spring');
  assert.equal(await page.getByLabel('Window (hours)').inputValue(), '48');
  assert.deepEqual(errors, []);
});

test('a viewer reads the policy but has no way to save it, and a forced save is refused', async () => {
  const { page, errors } = browser;
  const created = await callApi(page, 'POST', '/users', { username: 'vera', role: 'viewer', password: 'a long viewer password' });
  assert.equal(created.status, 201);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'vera', 'a long viewer password');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policy' }).click();
  await page.getByTestId('read-only').waitFor();
  assert.equal(await page.getByLabel('Soft bounces that suppress').inputValue(), '5');
  assert.ok(await page.getByLabel('Soft bounces that suppress').isDisabled());
  assert.equal(await page.getByRole('button', { name: 'Save policy' }).count(), 0);
  const forced = await callApi(page, 'PUT', '/settings/policy', { soft_threshold: 1 });
  assert.equal(forced.status, 403);

  assert.equal(await page.locator('#alert-5-scope').inputValue(), 'campaign:spring');
  assert.ok(await page.locator('#alert-0-warning').isDisabled());
  assert.ok(await page.getByLabel('Industry preset').isDisabled());
  const forcedAlerts = await callApi(page, 'PUT', '/settings/monitoring', {});
  assert.equal(forcedAlerts.status, 403);
  assert.deepEqual(errors, []);
});
