// Throughput of the wasm classifier; see bench-wasm.sh. Under Node each figure is measured twice:
// inside wasm (benchReplies / benchMessages: the classifier alone, comparable with the native
// bench) and through the JavaScript exports (classify / classifyMessage: plus copying each input
// in and building a JavaScript object for each verdict, what a page calling them pays). In headless
// Chromium the inside-wasm figures are measured again.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const core = require('../target/wasm-bench/rebound_core.js');
const corpus = process.argv[2];

const lines = ['sisimai/smtp_lines.jsonl', 'provider_lines_dev.jsonl'].flatMap((file) =>
  readFileSync(join(corpus, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).line));
const emailDir = join(corpus, 'sisimai/eml');
const emails = readdirSync(emailDir).sort().map((f) => readFileSync(join(emailDir, f)));

function rate(items, work, seconds = 3) {
  items.forEach(work);
  const start = process.hrtime.bigint();
  let done = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    items.forEach(work);
    done += items.length;
  }
  return done / (Number(process.hrtime.bigint() - start) / 1e9);
}

// The whole corpus in one buffer and the byte length of each piece, for the in-wasm loops.
function pack(pieces) {
  const buffers = pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  return [Buffer.concat(buffers), Uint32Array.from(buffers, (b) => b.length)];
}

// Runs one in-wasm pass over the corpus (a round) repeatedly for about `seconds`.
function rateInside(count, round, seconds = 3) {
  round();
  const start = process.hrtime.bigint();
  let done = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    round();
    done += count;
  }
  return done / (Number(process.hrtime.bigint() - start) / 1e9);
}

const [lineBytes, lineLengths] = pack(lines);
const lineText = lineBytes.toString('utf8');
const [emailBytes, emailLengths] = pack(emails);
const insideLine = rateInside(lines.length, () => core.benchReplies(lineText, lineLengths, 1));
const insideEmail = rateInside(emails.length, () => core.benchMessages(emailBytes, emailLengths, 1));
const perLine = rate(lines, (l) => core.classify(l));
const perEmail = rate(emails, (e) => core.classifyMessage(e));
console.log(`wasm reply lines: ${insideLine.toFixed(0)} per second in wasm, ${perLine.toFixed(0)} through classify() (${lines.length} distinct lines)`);
console.log(`wasm bounce emails: ${insideEmail.toFixed(0)} per second in wasm, ${perEmail.toFixed(0)} through classifyMessage() (${emails.length} emails)`);

// The same in-wasm loops in headless Chromium (Debian's, driven by playwright-core): the browser the
// console runs in, with a newer V8 than Node's. The page and the module are served from memory.
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.log(`chromium: not measured (no browser at ${executablePath}; set CHROMIUM)`);
  process.exit(0);
}
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  const web = join(process.argv[3] || 'target/wasm-bench-web');
  const page = await browser.newPage();
  const files = {
    '/': ['text/html', '<!doctype html><title>bench</title>'],
    '/rebound_core.js': ['text/javascript', readFileSync(join(web, 'rebound_core.js'))],
    '/rebound_core_bg.wasm': ['application/wasm', readFileSync(join(web, 'rebound_core_bg.wasm'))],
  };
  await page.route('http://bench.invalid/**', (route) => {
    const [contentType, body] = files[new URL(route.request().url()).pathname] ?? ['text/plain', ''];
    return route.fulfill({ contentType, body });
  });
  await page.goto('http://bench.invalid/');
  const [browserLine, browserEmail] = await page.evaluate(async ([lineText, lineLengths, emailBase64, emailLengths]) => {
    const core = await import('/rebound_core.js');
    await core.default();
    const emailBytes = Uint8Array.from(atob(emailBase64), (c) => c.charCodeAt(0));
    const lines = Uint32Array.from(lineLengths);
    const mails = Uint32Array.from(emailLengths);
    const inside = (count, round, seconds = 3) => {
      round();
      const start = performance.now();
      let done = 0;
      while (performance.now() - start < seconds * 1000) {
        round();
        done += count;
      }
      return done / ((performance.now() - start) / 1000);
    };
    return [
      inside(lines.length, () => core.benchReplies(lineText, lines, 1)),
      inside(mails.length, () => core.benchMessages(emailBytes, mails, 1)),
    ];
  }, [lineText, Array.from(lineLengths), emailBytes.toString('base64'), Array.from(emailLengths)]);
  console.log(`chromium reply lines: ${browserLine.toFixed(0)} per second in wasm`);
  console.log(`chromium bounce emails: ${browserEmail.toFixed(0)} per second in wasm`);
} finally {
  await browser.close();
}
