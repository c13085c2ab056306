// Throughput of the wasm classifier under Node; see bench-wasm.sh. Each figure is measured twice:
// inside wasm (benchReplies / benchMessages: the classifier alone, comparable with the native
// bench) and through the JavaScript exports (classify / classifyMessage: plus copying each input
// in and building a JavaScript object for each verdict, what a page calling them pays).
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
