// `connect()`: the generated REST client, configured to throw typed errors (hand-written).
//
//   const api = connect({ baseUrl: 'http://127.0.0.1:8000', token: 'lsk_...' });
//   const { data } = await getDocument({ client: api, path: { collection: 'tickets', key: 't-1' } });
//
// Every 4xx/5xx becomes a `LevelstreamError` subclass (thrown: `throwOnError` is on).
// `token` may be a function returning a fresh token, asked before each request.
import { createClient, createConfig, type Client } from './gen/client/index.js';
import { errorFromProblem } from './errors.js';

export type TokenSource = string | (() => string | Promise<string>);

export interface ConnectOptions {
  baseUrl: string;
  token: TokenSource;
  /** Throw typed errors (default). With `false`, calls return `{ error }` instead. */
  throwOnError?: boolean;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}

export async function resolveToken(token: TokenSource): Promise<string> {
  return typeof token === 'function' ? await token() : token;
}

export function connect(options: ConnectOptions): Client {
  const client = createClient(
    createConfig({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      throwOnError: options.throwOnError ?? true,
      fetch: options.fetch,
      headers: options.headers,
      // Every operation lists Bearer and X-API-Key; answer only the first.
      auth: async (auth) => (auth.scheme === 'bearer' ? resolveToken(options.token) : undefined),
    }),
  );
  client.interceptors.error.use((error, response) =>
    response === undefined ? error : errorFromProblem(error, response.status),
  );
  return client;
}
