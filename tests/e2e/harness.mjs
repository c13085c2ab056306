// Starts the real `rebound` binary on a fresh SQLite data directory and a headless Chromium driven
// by Playwright, and tears both down. Used by every browser test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (scripts/test.sh sets it)`);
  return value;
}

/**
 * Starts `rebound serve` on an ephemeral port, with `args` added to its flags (e.g.
 * `['--monitor-interval', '1']`); resolves once its banner names the URL.
 */
export async function startServer({ args = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'rebound-e2e-'));
  const child = spawn(required('REBOUND_BIN'), [
    'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--console-dir', required('REBOUND_DIST'), ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${stdout}\n${stderr}`)), 30_000);
    child.on('error', (e) => reject(new Error(`cannot start ${process.env.REBOUND_BIN}: ${e.message}`)));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${stdout}\n${stderr}`)));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = /Rebound is running at (http:\/\/\S+)/.exec(stdout);
      const password = /password `([^`]+)`/.exec(stdout);
      if (url && password) {
        clearTimeout(timer);
        resolve({ url: url[1], password: password[1] });
      }
    });
  });
  return {
    ...banner,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.on('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh browser page that records page errors and requests, so tests can assert on both. What the
 * server's Content-Security-Policy refused counts as a page error: every test that expects no error
 * also proves the console runs under that policy.
 */
export async function openBrowser() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  page.on('request', (r) => requests.push(r.url()));
  return { browser, context, page, errors, requests };
}

/** Fills and submits the sign-in form at `baseUrl`; callers wait for whatever outcome they expect. */
export async function submitSignIn(page, baseUrl, username, password) {
  await page.goto(`${baseUrl}login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits until the console shows `username` as signed in. */
export async function signIn(page, baseUrl, username, password) {
  await submitSignIn(page, baseUrl, username, password);
  await page.getByTestId('signed-in-as').filter({ hasText: `${username} ·` }).waitFor();
}

/** A request from the page's own session (cookie auth), as the console's code would send it. */
export function callApi(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const response = await fetch(`/api/v1${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-Rebound-Csrf': '1' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  }, { method, path, body });
}
