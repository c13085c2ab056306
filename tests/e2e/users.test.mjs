// The users and keys page in headless Chromium against the real server: an account created with a
// generated password shown once, disabled (it can no longer sign in) and reset; an API key shown
// once that works with its scope and stops working when revoked; both lists paged by the server;
// and a page a non-admin cannot use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, submitSignIn } from './harness.mjs';

let server;
let browser;

const signIn = (page, username, password) => submitSignIn(page, server.url, username, password);

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await server?.stop();
});

function login(username, password) {
  return fetch(`${server.url}api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  }).then((r) => r.status);
}

test('accounts: created with a password shown once, disabled, enabled and reset', async () => {
  const { page, errors } = browser;
  await signIn(page, 'admin', server.password);
  await page.getByTestId('signed-in-as').waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { name: 'Users and API keys' }).waitFor();

  await page.getByLabel('Username').fill('otto');
  await page.locator('#new-role').selectOption('operator');
  await page.getByRole('button', { name: 'Create account' }).click();
  const first = await page.getByTestId('shown-password').textContent();
  assert.ok(first.length >= 12);
  const row = page.getByTestId('user-row').filter({ hasText: 'otto' });
  await row.waitFor();
  assert.equal(await login('otto', first), 200);

  await row.getByRole('button', { name: 'Disable' }).click();
  await row.getByTestId('user-status').filter({ hasText: 'disabled' }).waitFor();
  assert.equal(await login('otto', first), 401);
  await row.getByRole('button', { name: 'Enable' }).click();
  await row.getByTestId('user-status').filter({ hasText: 'active' }).waitFor();

  await row.getByRole('button', { name: 'Reset password' }).click();
  await page.getByTestId('shown-password').filter({ hasNotText: first }).waitFor();
  const second = await page.getByTestId('shown-password').textContent();
  assert.equal(await login('otto', first), 401);
  assert.equal(await login('otto', second), 200);
  await page.getByRole('button', { name: 'I have noted it' }).click();
  assert.equal(await page.getByTestId('shown-password').count(), 0);

  await page.getByLabel('Username').fill('x');
  await page.getByLabel('Password (empty: generate one)').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('error-password').waitFor();
  assert.deepEqual(errors, []);
});

test('API keys: the token is shown once, works within its scopes, and stops when revoked', async () => {
  const { page, errors } = browser;
  await page.getByLabel('Key name').fill('mta-1');
  await page.getByRole('button', { name: 'Create key' }).click();
  const token = await page.getByTestId('shown-token').textContent();
  assert.match(token, /^rb_/);
  const row = page.getByTestId('key-row').filter({ hasText: 'mta-1' });
  await row.waitFor();
  assert.match(await row.textContent(), /check/);

  const check = () => fetch(`${server.url}api/v1/check?email=a@example.com`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);
  const list = () => fetch(`${server.url}api/v1/suppressions`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);
  assert.equal(await check(), 200);
  assert.equal(await list(), 403);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.filter({ hasText: 'revoked' }).waitFor();
  assert.equal(await check(), 401);
  assert.deepEqual(errors, []);
});

test('long lists come a page at a time, newest first, with a control for the rest', async () => {
  const { page, errors } = browser;
  const created = await page.evaluate(async () => {
    const post = (path, body) => fetch(`/api/v1${path}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Rebound-Csrf': '1' }, body: JSON.stringify(body),
    }).then((r) => r.status);
    const statuses = [];
    for (let i = 0; i < 50; i += 1) {
      statuses.push(await post('/keys', { name: `bulk-key-${i}`, scopes: ['check'] }));
    }
    for (let i = 0; i < 49; i += 1) {
      statuses.push(await post('/users', { username: `bulk-user-${i}`, role: 'viewer', password: 'a long bulk password' }));
    }
    return statuses;
  });
  assert.ok(created.every((status) => status === 201), `${created}`);
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="key-row"]').length === 50);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-row"]').length === 50);
  assert.match(await page.getByTestId('key-row').first().textContent(), /bulk-key-49/);
  assert.equal(await page.getByTestId('user-name').first().textContent(), 'bulk-user-48');

  await page.getByTestId('more-keys').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="key-row"]').length === 51);
  assert.match(await page.getByTestId('key-row').last().textContent(), /mta-1/);
  assert.ok(await page.getByTestId('more-keys').isHidden());
  await page.getByTestId('more-users').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-row"]').length === 51);
  assert.equal(await page.getByTestId('user-name').last().textContent(), 'admin');
  assert.ok(await page.getByTestId('more-users').isHidden());

  const otto = page.getByTestId('user-row').filter({ hasText: 'otto' });
  await otto.getByRole('button', { name: 'Disable' }).click();
  await otto.getByTestId('user-status').filter({ hasText: 'disabled' }).waitFor();
  assert.equal(await page.getByTestId('user-row').count(), 51, 'a change keeps the pages already loaded');
  await otto.getByRole('button', { name: 'Enable' }).click();
  await otto.getByTestId('user-status').filter({ hasText: 'active' }).waitFor();
  assert.deepEqual(errors, []);
});

test('a non-admin has no Users link and the page offers nothing', async () => {
  const { page, errors } = browser;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  await signIn(page, 'otto', await resetOtto());
  await page.getByTestId('signed-in-as').filter({ hasText: 'otto ·' }).waitFor();
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count(), 0);
  await page.goto(`${server.url}users`);
  await page.getByTestId('admin-only').waitFor();
  const forced = await page.evaluate(async () => (await fetch('/api/v1/users', {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Rebound-Csrf': '1' },
    body: JSON.stringify({ username: 'mallory', role: 'admin' }),
  })).status);
  assert.equal(forced, 403);
  assert.deepEqual(errors, []);
});

/** Gives otto a known password through the admin's API session (a separate request context). */
async function resetOtto() {
  const response = await fetch(`${server.url}api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: server.password }),
  });
  const cookie = response.headers.get('set-cookie').split(';')[0];
  const headers = { Cookie: cookie, 'X-Rebound-Csrf': '1' };
  const users = await (await fetch(`${server.url}api/v1/users`, { headers })).json();
  const otto = users.items.find((u) => u.username === 'otto');
  const reset = await (await fetch(`${server.url}api/v1/users/${otto.id}/reset-password`, { method: 'POST', headers })).json();
  return reset.password;
}
