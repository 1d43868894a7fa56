// Admin helpers: indexes, rules, tokens with claims (hand-written; `make sdk` keeps it).
//
//   import { admin } from '@levelstream/client';
//   await admin.ensureIndex(api, 'tickets', 'by_owner', ['owner', 'status'], {
//     onProgress: (ix) => console.log(`${ix.done}/${ix.total}`),
//   });
//   await admin.putRule(api, 'notes', { read: 'doc.public || doc.owner == auth.sub' });
//   const { token } = await admin.mintToken(appApi, 'alice', { claims: { role: 'editor' }, ttl_s: 3600 });
//
// Each throws the typed error of a refusal (a bad rule: `ValidationFailedError` whose
// `problem` has `entry`, `offset`, `line`, `column`), whatever the client's `throwOnError`.
// See docs/queries.md and docs/rules.md.
import type { Client } from './gen/client/index.js';
import * as gen from './gen/sdk.gen.js';
import type { Index, IssuedToken, RuleDeleted, RuleList, RuleSpec, RuleView, TokenRequest } from './gen/types.gen.js';

export interface WaitOptions {
  /** Called with each state seen while polling (the last one is `ready`). */
  onProgress?: (index: Index) => void;
  /** Give up (reject; the build goes on) after this long. Default 300 s. */
  timeoutMs?: number;
  intervalMs?: number;
}

// --- indexes ------------------------------------------------------------------------

/** Create an index (it builds online: `state` is `building` until `ready`). Same fields again: returned as is. */
export async function createIndex(client: Client, collection: string, name: string, fields: string[]): Promise<Index> {
  const { data } = await gen.putIndex({ client, throwOnError: true, path: { collection, name }, body: { fields } });
  return data as Index; // 200 and 201 both answer the index
}

export async function getIndex(client: Client, collection: string, name: string): Promise<Index> {
  return (await gen.getIndex({ client, throwOnError: true, path: { collection, name } })).data;
}

export async function listIndexes(client: Client, collection: string): Promise<Index[]> {
  return (await gen.listIndexes({ client, throwOnError: true, path: { collection } })).data.items;
}

export async function deleteIndex(client: Client, collection: string, name: string): Promise<void> {
  await gen.deleteIndex({ client, throwOnError: true, path: { collection, name } });
}

/** Poll until the index is `ready`, reporting each state seen to `onProgress`. */
export async function waitForIndex(
  client: Client,
  collection: string,
  name: string,
  options: WaitOptions = {},
): Promise<Index> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (;;) {
    const index = await getIndex(client, collection, name);
    options.onProgress?.(index);
    if (index.state === 'ready') return index;
    if (Date.now() >= deadline) {
      throw new Error(`index '${name}' of '${collection}' is still building (${index.done} of ${index.total})`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}

/** Create the index (or find it) and wait until it is ready. */
export async function ensureIndex(
  client: Client,
  collection: string,
  name: string,
  fields: string[],
  options: WaitOptions = {},
): Promise<Index> {
  const index = await createIndex(client, collection, name, fields);
  if (index.state === 'ready') {
    options.onProgress?.(index);
    return index;
  }
  return waitForIndex(client, collection, name, options);
}

// --- rules --------------------------------------------------------------------------

/** Create or replace the rule of a collection glob; an entry left out is no rule. */
export async function putRule(client: Client, glob: string, rule: RuleSpec): Promise<RuleView> {
  return (await gen.putRule({ client, throwOnError: true, path: { glob }, body: rule })).data;
}

export async function getRule(client: Client, glob: string): Promise<RuleView> {
  return (await gen.getRule({ client, throwOnError: true, path: { glob } })).data;
}

/** Every rule, with the rule set's `version`. */
export async function listRules(client: Client): Promise<RuleList> {
  return (await gen.listRules({ client, throwOnError: true })).data;
}

export async function deleteRule(client: Client, glob: string): Promise<RuleDeleted> {
  return (await gen.deleteRule({ client, throwOnError: true, path: { glob } })).data;
}

// --- tokens -------------------------------------------------------------------------

/**
 * A JWT for `sub`, never wider than the key that asks; rules see `auth.sub` and
 * `auth.claims` (`claims`: at most 4096 bytes of JSON, not the names the server sets).
 */
export async function mintToken(
  client: Client,
  sub: string,
  options: Omit<TokenRequest, 'sub'> = {},
): Promise<IssuedToken> {
  return (await gen.mintToken({ client, throwOnError: true, body: { ...options, sub } })).data;
}
