// Throughput of the wasm classifier under Node; see bench-wasm.sh.
import { readFileSync, readdirSync } from 'node:fs';
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

const perLine = rate(lines, (l) => core.classify(l));
const perEmail = rate(emails, (e) => core.classifyMessage(e));
console.log(`wasm reply lines: ${perLine.toFixed(0)} per second (${lines.length} distinct lines)`);
console.log(`wasm bounce emails: ${perEmail.toFixed(0)} per second (${emails.length} emails)`);
