// Entry of the single-file browser bundle (dist/levelstream.browser.js): everything
// in the package, as the global `Levelstream` (e.g. `new Levelstream.RealtimeClient(...)`).
export * from './index.js';
