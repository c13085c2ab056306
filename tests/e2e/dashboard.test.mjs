// The dashboard in headless Chromium against the real server, fed through the API: attempts at two
// providers in two campaigns, hard bounces at one of them (enough to trip the thresholds), a soft
// bounce that a retry delivered. Checks the five figures and their charts, the alerts, a pause that
// a viewer cannot resume and an operator resumes with a reason, the newest suppressions linking to
// their entries, the window switch, and a failing request's error. The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, signIn as harnessSignIn, callApi } from './harness.mjs';

let server;
let browser;

const signIn = (page, username, password) => harnessSignIn(page, server.url, username, password);

before(async () => {
  server = await startServer({ args: ['--monitor-interval', '1'] });
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await server?.stop();
});

async function post(page, path, body) {
  const answer = await callApi(page, 'POST', path, body);
  assert.ok(answer.status < 300, `${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** 200 attempts (100 at Google for `spring`, 100 at Yahoo for `autumn`), 12 hard bounces at
 * Google, and at Yahoo a soft bounce followed by the retry's delivery. */
async function feed(page) {
  const settings = await callApi(page, 'PUT', '/settings/monitoring', {
    thresholds: [
      { metric: 'bounce_rate', scope: 'all', warning: 2, critical: 3, action: 'pause' },
      { metric: 'hard_rate', scope: 'all', warning: 1, critical: 20, action: 'notify' },
      { metric: 'bounce_rate', scope: 'isp:*', warning: 5, critical: 10, action: 'notify' },
    ],
  });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
  await post(page, '/sends', { sends: [
    { count: 100, domain: 'gmail.com', campaign: 'spring' },
    { count: 100, domain: 'yahoo.com', campaign: 'autumn' },
  ] });
  await post(page, '/events', { events: [{ recipient: 'retry@yahoo.com', reply: '452 4.2.2 Mailbox full', campaign: 'autumn' }] });
  await post(page, '/events', { events: [{ recipient: 'retry@yahoo.com', kind: 'delivered', campaign: 'autumn' }] });
  const hard = [];
  for (let i = 1; i <= 12; i += 1) {
    hard.push({ recipient: `gone${i}@gmail.com`, reply: '550 5.1.1 <x>: Recipient address rejected: User unknown', campaign: 'spring' });
  }
  await post(page, '/events', { events: hard });
}

const card = (page, id) => page.locator(`section[aria-labelledby="${id}"]`);
const chartLabel = (page, id) => card(page, id).locator('svg[role="img"]').first().getAttribute('aria-label');
/** The text of each cell of each row with `testid`, once there is at least one. */
async function rows(page, testid) {
  await page.getByTestId(testid).first().waitFor();
  return page.getByTestId(testid).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
}

test('the five figures, their charts and the alerts, from what the server was fed', async () => {
  const { page, errors } = browser;
  await signIn(page, 'admin', server.password);
  assert.equal(new URL(page.url()).pathname, '/dashboard', 'signing in lands on the dashboard');
  await feed(page);
  const { body: created } = await callApi(page, 'POST', '/users', { username: 'vera', role: 'viewer', password: 'a long viewer password' });
  assert.equal(created.user.role, 'viewer');
  // The monitor evaluates every second: wait for the three raised alerts and the pause that the
  // critical bounce rate starts. The predicate reads synchronously: waitForFunction does not await
  // a returned promise (a promise is truthy), so an async predicate ends the wait at its first call.
  await page.waitForFunction(() => {
    const read = (path) => {
      const request = new XMLHttpRequest();
      request.open('GET', `/api/v1${path}`, false);
      request.send();
      return JSON.parse(request.responseText);
    };
    return read('/alerts').states.length === 3 && read('/pauses?active=true').length === 1;
  }, null, { polling: 250 });
  await page.reload();

  await page.getByTestId('bounce-rate').filter({ hasText: '6.50%' }).waitFor();
  assert.match(await card(page, 'bounce-title').textContent(), /of 200 attempts · hard 6\.00% · soft 0\.50%/);
  assert.match(await chartLabel(page, 'bounce-title'), /^Bounce rate per hour: .*6\.50%/);

  assert.equal(await page.getByTestId('retry-rate').textContent(), '100.00%');
  assert.match(await card(page, 'retry-title').textContent(), /1 of 1 soft-bounce episodes ended in a delivery/);

  // Server order (most attempts first, then by name); the bars in the same order.
  assert.equal(await chartLabel(page, 'isp-title'), 'Hard bounce rate by provider: Google 12.00%, Yahoo 0.00%');
  const providers = await card(page, 'isp-title').getByTestId('breakdown-row')
    .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(providers, [
    ['Google', '100', '12', '0', '12.00%', '12.00%'],
    ['Yahoo', '100', '0', '1', '0.00%', '1.00%'],
  ]);
  assert.equal(await chartLabel(page, 'campaign-title'), 'Bounce rate by campaign: autumn 1.00%, spring 12.00%');
  const campaigns = await card(page, 'campaign-title').getByTestId('breakdown-row')
    .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(campaigns.map((r) => [r[0], r[1], r[5]]), [['autumn', '100', '1.00%'], ['spring', '100', '12.00%']]);

  assert.match(await card(page, 'growth-title').textContent(), /12 added · 0 lifted · 12 active/);
  assert.match(await chartLabel(page, 'growth-title'), /^List growth per day: \d{4}-\d\d-\d\d 0\.00%, \d{4}-\d\d-\d\d 0\.00%$/);

  const alerts = await rows(page, 'alert-row');
  assert.deepEqual(alerts.slice(0, 3).map((r) => r.slice(0, 5)), [
    ['Bounce rate', 'all', 'critical', '6.50%', '200'],
    ['Bounce rate', 'isp:Google', 'critical', '12.00%', '100'],
    ['Hard bounce rate', 'all', 'warning', '6.00%', '200'],
  ]);
  assert.equal(await page.getByTestId('alert-row').first().getAttribute('class'), 'level-critical');
  const changes = (await rows(page, 'alert-transition')).map((r) => r.slice(1).join(' | '));
  assert.ok(changes.includes('Bounce rate | all | ok → critical | 6.50% | 3.00% | paused sending'), changes.join('\n'));

  const newest = await rows(page, 'newest-row');
  assert.equal(newest.length, 5);
  assert.deepEqual(newest[0].slice(0, 2), ['gone12@gmail.com', 'hard_bounce']);
  assert.deepEqual(errors, []);
});

test('a viewer sees the pause but no Resume button', async () => {
  const { page, errors } = browser;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'vera', 'a long viewer password');
  await page.getByTestId('pause').filter({ hasText: /^all since .* by system/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Resume' }).count(), 0);
  assert.equal(await page.getByLabel('Why may all send again?').count(), 0);
  const forced = await callApi(page, 'POST', '/pauses/1/resume', { reason: 'viewer tries' });
  assert.equal(forced.status, 403);
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.deepEqual(errors, []);
});

test('resuming a pause needs a reason; then it is gone', async () => {
  const { page, errors } = browser;
  await signIn(page, 'admin', server.password);
  const pauses = card(page, 'pauses-title');
  await pauses.getByTestId('pause').waitFor();
  await pauses.getByRole('button', { name: 'Resume' }).click();
  await pauses.getByTestId('error-reason').waitFor();
  assert.equal(await pauses.getByTestId('error-reason').textContent(), 'must not be empty');
  await pauses.getByLabel('Why may all send again?').fill('bad list segment removed');
  await pauses.getByRole('button', { name: 'Resume' }).click();
  await pauses.getByText('Nothing is paused.').waitFor();
  assert.equal(await page.getByTestId('pause').count(), 0);
  const audit = await callApi(page, 'GET', '/audit?action=pause.resume');
  assert.equal(audit.body.items[0]?.reason, 'bad list segment removed');
  assert.deepEqual(errors, []);
});

test('the window switch reads the last 7 days, by keyboard too; a suppression opens from its link', async () => {
  const { page, errors, requests } = browser;
  const before = requests.length;
  await page.getByLabel('Last 24 hours').focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.getByLabel('Last 7 days').isChecked(), true);
  await page.waitForFunction(() => /per 6 hours/.test(document.querySelector('section[aria-labelledby="bounce-title"] svg')?.getAttribute('aria-label')));
  const asked = requests.slice(before).filter((u) => u.includes('/api/v1/metrics/'));
  assert.ok(asked.some((u) => u.includes('/metrics/overview?hours=168')), asked.join('\n'));
  assert.ok(asked.some((u) => u.includes('/metrics/suppressions?days=8')), asked.join('\n'));
  await page.getByTestId('bounce-rate').filter({ hasText: '6.50%' }).waitFor();

  await page.getByTestId('newest-row').first().getByRole('link').click();
  await page.getByTestId('detail-address').filter({ hasText: 'gone12@gmail.com' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/suppressions');
  assert.deepEqual(errors, []);
});

test("a failing request shows the server's message in its card; the other cards still show", async () => {
  const { page, errors } = browser;
  await page.route('**/api/v1/metrics/breakdown**', (route) => route.fulfill({
    status: 500,
    contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'internal', message: 'the database is unavailable' } }),
  }));
  await page.goto(`${server.url}dashboard`);
  const failed = card(page, 'isp-title').getByRole('alert');
  await failed.waitFor();
  assert.equal(await failed.textContent(), 'the database is unavailable');
  assert.equal(await card(page, 'campaign-title').getByRole('alert').textContent(), 'the database is unavailable');
  assert.equal(await card(page, 'isp-title').locator('svg').count(), 0);
  await page.getByTestId('bounce-rate').filter({ hasText: '6.50%' }).waitFor();
  await page.unroute('**/api/v1/metrics/breakdown**');
  assert.deepEqual(errors, []);
});

test('readable on a phone-width screen in the dark theme', async () => {
  const context = await browser.browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: 'dark' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await signIn(page, 'admin', server.password);
  await page.getByTestId('bounce-rate').waitFor();
  await page.getByTestId('alert-row').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the dashboard is ${overflow}px wider than the screen`);
  const stroke = await page.evaluate(() => getComputedStyle(document.querySelector('.chart .line path')).stroke);
  assert.equal(stroke, 'rgb(122, 167, 255)');
  await context.close();
  assert.deepEqual(errors, []);
});
