// Playwright's waitForFunction does not await a promise: an async predicate returns a promise, which
// is truthy, so the wait ends after the first call whatever the promise resolves to. The dashboard
// test once reloaded before the monitor had raised the alerts it meant to wait for, and failed
// intermittently. No browser test may pass an async function to waitForFunction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

test('no browser test waits for an async predicate', () => {
  const dir = new URL('.', import.meta.url);
  const files = readdirSync(dir).filter((name) => name.endsWith('.mjs'));
  assert.ok(files.length > 1, 'the browser tests are found');
  const offending = files.filter((name) => /waitForFunction\(\s*async\b/.test(readFileSync(new URL(name, dir), 'utf8')));
  assert.deepEqual(offending, [], 'read synchronously in the predicate (e.g. a synchronous XMLHttpRequest)');
});
