// The classify page in headless Chromium against the real server: a whole bounce email with the
// evidence highlighted, batch mode with its counts, recording bounces as events and what the
// policy did with them (one by one and a whole batch), and then, with the server stopped,
// classification that still applies the server's own rules from the copy the page kept, also
// after a reload (the service worker keeps the console itself).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, signIn as harnessSignIn } from './harness.mjs';

let server;
let browser;

const signIn = (page) => harnessSignIn(page, server.url, 'admin', server.password);

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await server?.stop();
});

// A staff rule the built-in rules do not have: "zorkmid flux" is a full mailbox (soft), where the
// built-in rules read this reply's 5.1.1 as a dead address (hard).
const STAFF_RULE_REPLY = '550 5.1.1 <ann@example.com>: zorkmid flux overflow';
const DSN = [
  'From: MAILER-DAEMON@mx.example.net',
  'To: sender@example.org',
  'Subject: Undelivered Mail Returned to Sender',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain',
  '',
  'I could not deliver your message to <jane@example.com>.',
  '',
  '--b1',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.net',
  '',
  'Final-Recipient: rfc822; jane@example.com',
  'Action: failed',
  'Status: 5.1.1',
  'Diagnostic-Code: smtp; 550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown in local recipient table',
  '',
  '--b1--',
  '',
].join('\r\n');

async function kindOf(page, text) {
  await page.getByLabel('SMTP reply').fill(text);
  await page.getByTestId('verdict').first().waitFor();
  return page.getByTestId('verdict-kind').first().textContent();
}

test('a bounce email, highlighted evidence, batch counts, and recording events', async () => {
  const { page, errors } = browser;
  await signIn(page);
  const saved = await page.evaluate(async () => (await fetch('/api/v1/settings/policy', {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'X-Rebound-Csrf': '1' },
    body: JSON.stringify({ rules: [{ id: 'zorkmid_flux', pattern: 'zorkmid flux', reason: 'mailbox_full' }] }),
  })).status);
  assert.equal(saved, 200);
  await page.goto(server.url);
  await page.getByTestId('rules-source').filter({ hasText: "The server's rules, read" }).waitFor();

  await page.getByLabel('SMTP reply').fill(DSN);
  await page.getByTestId('input-kind').filter({ hasText: 'whole bounce email' }).waitFor();
  assert.equal(await page.getByTestId('verdict-kind').textContent(), 'hard');
  assert.equal(await page.getByTestId('verdict-recipient').textContent(), 'jane@example.com');
  assert.match(await page.getByTestId('verdict-status').textContent(), /^5\.1\.1 — Bad destination mailbox address$/);

  assert.equal(await kindOf(page, STAFF_RULE_REPLY), 'soft');
  assert.equal(await page.getByTestId('verdict-rule').textContent(), 'zorkmid_flux');
  assert.equal(await page.getByTestId('evidence').textContent(), 'zorkmid flux');
  assert.equal(await page.getByTestId('verdict-source').textContent(), STAFF_RULE_REPLY);

  await page.getByLabel('Batch: one reply per line').check();
  await page.getByLabel('SMTP replies, one per line').fill([
    '550 5.1.1 <a@example.com>: User unknown', '', '550 5.7.1 Message rejected: spam detected',
    '452 4.2.2 Mailbox full', '550 5.1.1 <b@example.com>: No such user',
  ].join('\n'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="batch-row"]').length === 4);
  assert.match(await page.getByTestId('count-hard').textContent(), /^2\s*hard$/);
  assert.match(await page.getByTestId('count-block').textContent(), /^1\s*block$/);
  assert.match(await page.getByTestId('count-soft').textContent(), /^1\s*soft$/);

  await page.getByRole('button', { name: 'Record all lines' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /^Line 3: /, 'the first line without an address');
  await page.getByLabel('SMTP replies, one per line').fill([
    '550 5.1.1 <a@example.com>: User unknown', '550 5.7.1 <c@example.com>: Message rejected: spam detected', '',
    '452 4.2.2 <d@example.com>: Mailbox full', '550 5.1.1 <A@example.com>: User unknown',
  ].join('\n'));
  await page.getByRole('button', { name: 'Record all lines' }).click();
  await page.getByTestId('batch-totals').waitFor();
  assert.equal(await page.getByTestId('batch-totals').textContent(), 'Recorded 4 events: 1 suppressed, 1 already suppressed, '
    + '1 counted toward escalation, 1 changed nothing.');
  const outcomes = await page.getByTestId('event-outcome').allTextContents();
  assert.equal(outcomes.length, 4);
  assert.match(outcomes[0], /^Line 1 · a@example\.com · hard · Suppressed in global as hard_bounce/);
  assert.match(outcomes[1], /^Line 2 · c@example\.com · block · Nothing changed: /);
  assert.match(outcomes[2], /^Line 4 · d@example\.com · soft · Counted toward escalation: soft bounce 1 of 3/);
  assert.match(outcomes[3], /^Line 5 · a@example\.com · hard · Already suppressed in global as hard_bounce/i);
  await page.getByLabel('SMTP replies, one per line').fill('452 4.2.2 <d@example.com>: Mailbox full');
  await page.getByTestId('batch-totals').waitFor({ state: 'hidden' });
  assert.equal(await page.getByTestId('event-outcome').count(), 0, 'the outcomes belong to the lines they were recorded for');

  await page.getByLabel('One bounce').check();
  await page.getByLabel('SMTP reply').fill('550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown');
  await page.waitForFunction(() => document.querySelector('#record-recipient').value === 'gone@example.com');
  await page.getByRole('button', { name: 'Record event' }).click();
  await page.getByTestId('event-outcome').waitFor();
  assert.match(await page.getByTestId('event-outcome').textContent(), /gone@example\.com · hard · Suppressed in global as hard_bounce/);

  await page.getByLabel('SMTP reply').fill('452 4.2.2 Mailbox full, try again later');
  await page.getByRole('button', { name: 'Record event' }).click();
  await page.getByTestId('error-events[0].recipient').waitFor();
  await page.getByLabel('Recipient').fill('full@example.com');
  await page.getByRole('button', { name: 'Record event' }).click();
  await page.getByTestId('event-outcome').waitFor();
  assert.match(await page.getByTestId('event-outcome').textContent(), /soft · Counted toward escalation: soft bounce 1 of 3 within 30 days/);

  await page.getByLabel('SMTP reply').fill('550 5.7.1 Service unavailable; client host blocked using Spamhaus');
  await page.getByLabel('Recipient').fill('someone@example.com');
  await page.getByRole('button', { name: 'Record event' }).click();
  await page.getByTestId('event-outcome').waitFor();
  assert.match(await page.getByTestId('event-outcome').textContent(), /block · Nothing changed: /);
  assert.deepEqual(errors, []);
});

test('with the server stopped, the page classifies with the server rules it kept, after a reload too', async () => {
  const { page, errors } = browser;
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await server.stop();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('alert').first().waitFor();
  await nav.getByRole('link', { name: 'Classify' }).click();
  // Wait for the answer (the line says "asking the server…" until the request fails).
  await page.getByTestId('rules-source').filter({ hasText: 'could not be reached' }).waitFor();
  assert.match(await page.getByTestId('rules-source').textContent(), /as last read/);

  assert.equal(await kindOf(page, '550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown'), 'hard');
  assert.equal(await kindOf(page, '550 5.7.1 Service unavailable; client host blocked using Spamhaus'), 'block');
  assert.equal(await kindOf(page, STAFF_RULE_REPLY), 'soft');

  await page.reload();
  await page.getByTestId('rules-source').filter({ hasText: 'as last read' }).waitFor();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the service worker served the page');
  assert.equal(await kindOf(page, '550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown'), 'hard');
  assert.equal(await kindOf(page, '550 5.7.1 Service unavailable; client host blocked using Spamhaus'), 'block');
  assert.equal(await kindOf(page, STAFF_RULE_REPLY), 'soft');
  assert.deepEqual(errors, []);
});
