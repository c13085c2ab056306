// Rebound's service worker: keeps the console loadable when the server cannot be reached, so the
// classify page (which runs in the browser with the last rules it read) still opens after a reload.
// Pages are fetched network first and fall back to the last index.html kept; the content-hashed
// assets that index.html names are kept and served from here; nothing under /api/ is ever kept.
const CACHE = 'rebound-console';
const INDEX = '/index.html';
// Trunk names an asset `name-<hash>.ext`, the hash a 64-bit number in hex without leading zeros:
// usually 16 digits, fewer one build in sixteen.
const HASHED_NAME = String.raw`/[\w.-]+-[0-9a-f]{8,16}(?:_bg)?\.(?:wasm|js|css)`;
const HASHED = new RegExp(`${HASHED_NAME}$`);

self.addEventListener('install', (event) => {
  event.waitUntil(refresh().catch(() => undefined).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate' || url.pathname === INDEX) {
    event.respondWith(page(event));
  } else if (HASHED.test(url.pathname)) {
    event.respondWith(asset(request));
  }
});

/** The page from the server (keeping it and its assets), or the last one kept when unreachable. */
async function page(event) {
  try {
    const response = await fetch(event.request);
    if (response.ok && (response.headers.get('content-type') || '').startsWith('text/html')) {
      event.waitUntil(keep(response.clone()).catch(() => undefined));
    }
    return response;
  } catch (unreachable) {
    const kept = await (await caches.open(CACHE)).match(INDEX);
    if (kept) return kept;
    throw unreachable;
  }
}

/** A hashed asset: its content never changes under its name, so a kept copy is always right. */
async function asset(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

/** Fetches index.html and keeps it with the assets it names. */
async function refresh() {
  await keep(await fetch(INDEX, { cache: 'no-cache' }));
}

/**
 * Keeps `response` as index.html with the assets it names (the assets first, so the page kept never
 * names one that is missing), and drops the assets of older builds.
 */
async function keep(response) {
  const html = await response.clone().text();
  const names = new Set([...html.matchAll(new RegExp(`["'](${HASHED_NAME})["']`, 'g'))].map((m) => m[1]));
  const cache = await caches.open(CACHE);
  for (const name of names) {
    if (!(await cache.match(name))) await cache.add(name);
  }
  await cache.put(INDEX, response);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path !== INDEX && !names.has(path)) await cache.delete(request);
  }
}
