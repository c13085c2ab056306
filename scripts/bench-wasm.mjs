// Throughput of the wasm classifier; see bench-wasm.sh. Under Node each figure is measured twice:
// inside wasm (a BenchCorpus copied into wasm once, then classified there: the classifier alone,
// comparable with the native bench) and through the JavaScript exports (classify / classifyMessage:
// plus copying each input in and building a JavaScript object for each verdict, what a page calling
// them pays). In headless Chromium the inside-wasm figures are measured again.
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

// Rounds of measurement as in the native bench: one pass to warm up, then nine rounds of about
// 400 ms each passing over the corpus; the rate of the median round and of the best (a shared
// machine slows some rounds down). Self-contained, so that the Chromium page can run it too.
function measureRounds(count, pass, rounds = 9, budgetMs = 400) {
  pass();
  const rates = [];
  for (let round = 0; round < rounds; round += 1) {
    const start = performance.now();
    let done = 0;
    while (performance.now() - start < budgetMs) {
      pass();
      done += count;
    }
    rates.push(done / ((performance.now() - start) / 1000));
  }
  rates.sort((x, y) => x - y);
  return { median: rates[Math.floor(rounds / 2)], best: rates[rounds - 1] };
}

const figure = ({ median, best }) => `${median.toFixed(0)} per second (best round ${best.toFixed(0)})`;

// The whole corpus in one buffer and the byte length of each piece, for the in-wasm loops.
function pack(pieces) {
  const buffers = pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  return [Buffer.concat(buffers), Uint32Array.from(buffers, (b) => b.length)];
}

const [lineBytes, lineLengths] = pack(lines);
const lineText = lineBytes.toString('utf8');
const [emailBytes, emailLengths] = pack(emails);
const inside = new core.BenchCorpus(lineText, lineLengths, emailBytes, emailLengths);
const insideLine = measureRounds(lines.length, () => inside.replies(1));
const insideEmail = measureRounds(emails.length, () => inside.messages(1));
const perLine = measureRounds(lines.length, () => lines.forEach((l) => core.classify(l)));
const perEmail = measureRounds(emails.length, () => emails.forEach((e) => core.classifyMessage(e)));
console.log(`wasm reply lines (${lines.length} distinct): inside wasm ${figure(insideLine)}; `
  + `through classify() ${figure(perLine)}`);
console.log(`wasm bounce emails (${emails.length}): inside wasm ${figure(insideEmail)}; `
  + `through classifyMessage() ${figure(perEmail)}`);

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
  const measured = async ([lineText, lineLengths, emailBase64, emailLengths, measureSource]) => {
    const core = await import('/rebound_core.js');
    await core.default();
    const emailBytes = Uint8Array.from(atob(emailBase64), (c) => c.charCodeAt(0));
    const lines = Uint32Array.from(lineLengths);
    const mails = Uint32Array.from(emailLengths);
    const measure = new Function(`return ${measureSource}`)();
    const inside = new core.BenchCorpus(lineText, lines, emailBytes, mails);
    return [measure(lines.length, () => inside.replies(1)), measure(mails.length, () => inside.messages(1))];
  };
  const [browserLine, browserEmail] = await page.evaluate(measured, [
    lineText, Array.from(lineLengths), emailBytes.toString('base64'), Array.from(emailLengths),
    measureRounds.toString(),
  ]);
  console.log(`chromium reply lines: inside wasm ${figure(browserLine)}`);
  console.log(`chromium bounce emails: inside wasm ${figure(browserEmail)}`);
} finally {
  await browser.close();
}
