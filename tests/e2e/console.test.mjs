// The console served by the real server, in headless Chromium: classification in the browser with
// no network, first sign-in with the password the server printed, client-side routes on reload, and
// every page at phone width in the dark theme.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser } from './harness.mjs';

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

async function verdictFor(page, reply) {
  await page.getByLabel('SMTP reply').fill(reply);
  const card = page.getByTestId('verdict');
  await card.waitFor();
  return {
    kind: await page.getByTestId('verdict-kind').textContent(),
    reason: await page.getByTestId('verdict-reason').textContent(),
    action: await page.getByTestId('verdict-action').textContent(),
    status: await page.getByTestId('verdict-status').textContent(),
  };
}

test('classifies replies in the browser, with the network off', async () => {
  const { page, context, errors, requests } = browser;
  // The page asks once for the server's rules (refused here: nobody is signed in).
  const rulesAsked = page.waitForResponse((r) => r.url().endsWith('/api/v1/settings/policy'));
  await page.goto(server.url);
  await page.getByRole('heading', { name: 'Classify a bounce' }).waitFor();
  await rulesAsked;
  await context.setOffline(true);
  const before = requests.length;

  const hard = await verdictFor(page, '550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown');
  assert.equal(hard.kind, 'hard');
  assert.equal(hard.reason, 'user_unknown');
  assert.equal(hard.action, 'suppress');
  assert.match(hard.status, /^5\.1\.1 — Bad destination mailbox address$/);

  const block = await verdictFor(page, '550 5.7.1 Message rejected: spam detected');
  assert.equal(block.kind, 'block');
  assert.equal(block.action, 'fix_sender');

  assert.deepEqual(requests.slice(before), [], 'classifying made no request');
  await context.setOffline(false);
  assert.deepEqual(errors, []);
});

test('every response says what a browser may do with it, and the console runs no inline script', async () => {
  const { page, errors } = browser;
  const response = await page.goto(server.url);
  await page.getByRole('heading', { name: 'Classify a bounce' }).waitFor();
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page');
  const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|wasm|css))"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 3, `${assets}`);
  for (const path of ['/', '/suppressions', '/api/v1/health', '/api/v1/nothing-here', ...assets]) {
    const headers = (await page.request.get(new URL(path, server.url).href)).headers();
    const csp = headers['content-security-policy'] || '';
    assert.match(csp, /default-src 'self'/, path);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.doesNotMatch(csp, /unsafe-inline/, path);
    assert.equal(headers['x-content-type-options'], 'nosniff', path);
    assert.equal(headers['referrer-policy'], 'same-origin', path);
  }
  assert.deepEqual(errors, []);
});

test('pasted text is shown as text, never as markup', async () => {
  const { page, errors } = browser;
  await page.goto(server.url);
  const hostile = '550 <img src=x onerror="window.__pwned=1"> 5.1.1 <script>window.__pwned=1</script>';
  await page.getByLabel('SMTP reply').fill(hostile);
  await page.getByTestId('verdict').waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.getByLabel('SMTP reply').inputValue(), hostile);
  assert.deepEqual(errors, []);
});

test('first sign-in with the printed admin password, then sign out', async () => {
  const { page, errors } = browser;
  await page.goto(`${server.url}login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /wrong username or password/);

  await page.getByLabel('Password').fill(server.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
  assert.equal(await page.getByTestId('signed-in-as').textContent(), 'admin · admin');
  assert.equal(new URL(page.url()).pathname, '/dashboard');

  await page.reload();
  await page.getByTestId('signed-in-as').waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.deepEqual(errors, []);
});

test('the server answers client-side routes with the console and unknown API paths with JSON', async () => {
  const page = await fetch(`${server.url}login`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  assert.match(await page.text(), /<title>Rebound<\/title>/);

  const worker = await fetch(`${server.url}sw.js`);
  assert.equal(worker.status, 200);
  assert.match(worker.headers.get('content-type'), /^text\/javascript/);
  assert.equal(worker.headers.get('cache-control'), 'no-store');

  const api = await fetch(`${server.url}api/v1/nope`);
  assert.equal(api.status, 404);
  assert.equal((await api.json()).error.code, 'not_found');
});

test('readable on a phone-width screen, in the dark theme when the system asks for it', async () => {
  const { browser: chromium } = browser;
  const context = await chromium.newContext({ viewport: { width: 375, height: 740 }, colorScheme: 'dark' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(server.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(21, 21, 20)');
  for (const path of ['', 'dashboard', 'suppressions', 'audit', 'policy', 'users']) {
    await page.goto(`${server.url}${path}`);
    await page.locator('main h1').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `/${path} is ${overflow}px wider than the screen`);
  }
  await context.close();
  assert.deepEqual(errors, []);
});
