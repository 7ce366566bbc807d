// Prints the gzipped size of the JavaScript the first page load needs (the entry
// script and the chunks it preloads), and of the chunks loaded later on demand.
// Run after `npm run build`: `npm run size`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
const initial = new Set();
for (const m of html.matchAll(/<script[^>]+src="([^"]+\.js)"/g)) initial.add(m[1]);
for (const m of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g)) initial.add(m[1]);
const css = [...html.matchAll(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+\.css)"/g)].map((m) => m[1]);

const gz = (file) => gzipSync(readFileSync(path.join(dist, file)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

let total = 0;
console.log('initial JavaScript (gzip -9):');
for (const f of initial) {
  const g = gz(f);
  total += g;
  console.log(`  ${f}  ${kb(statSync(path.join(dist, f)).size)} raw, ${kb(g)} gzipped`);
}
let cssTotal = 0;
for (const f of css) cssTotal += gz(f);
const lazy = readdirSync(path.join(dist, 'assets'))
  .filter((f) => f.endsWith('.js') && !initial.has(`/assets/${f}`))
  .map((f) => `/assets/${f}`);
console.log('loaded on demand:');
for (const f of lazy) console.log(`  ${f}  ${kb(gz(f))} gzipped`);
console.log(`initial CSS: ${kb(cssTotal)} gzipped`);
console.log(`INITIAL_JS_GZIP_BYTES=${total} (${kb(total)}; budget 150 KB: ${total <= 150 * 1024 ? 'within' : 'OVER'})`);
if (total > 150 * 1024) process.exitCode = 1;
