// @levelstream/client: the generated REST operations and types (./gen, from
// openapi/openapi.json), typed errors, `connect()`, the real-time client, and the
// helpers for filtered range reads (`query`, `explain`) and admin (`admin.*`).
export * from './gen/index.js';
export { createClient, createConfig } from './gen/client/index.js';
export type { Client, Config } from './gen/client/index.js';
export * from './errors.js';
export * from './connect.js';
export * from './realtime.js';
export * from './queries.js';
// Admin helpers as a namespace (`admin.putRule`, `admin.ensureIndex`, `admin.mintToken`, ...):
// their names are the generated operations' (`putRule`), with simpler signatures.
export * as admin from './admin.js';
export * from './cel.js';
export * from './offline/db.js';
