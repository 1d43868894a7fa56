// @levelstream/client: the generated REST operations and types (./gen, from
// openapi/openapi.json), typed errors, `connect()`, and the real-time client.
export * from './gen/index.js';
export { createClient, createConfig } from './gen/client/index.js';
export type { Client, Config } from './gen/client/index.js';
export * from './errors.js';
export * from './connect.js';
export * from './realtime.js';
