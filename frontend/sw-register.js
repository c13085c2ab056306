// The service worker keeps the console loadable without the server (see sw.js). This file is
// appended to the console's boot script at build (scripts/lib.sh): the page runs no inline script.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('no offline copy of the console:', e));
}
