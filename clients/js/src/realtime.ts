// Real-time Levelstream: subscriptions, channels and presence (hand-written; `make sdk` keeps it).
//
//   const rt = new RealtimeClient({ baseUrl: 'http://127.0.0.1:8000', token: 'lsk_...' });
//   const sub = await rt.subscribe({ collection: 'tickets', prefix: 't-' });
//   // live from here on: a write made now is delivered below
//   for await (const change of sub) {
//     console.log(change.seq, change.op, change.key, change.value);
//   }
//
// `subscribe()` and `channel()` resolve once the server has confirmed the
// subscription (its `subscribe` reply, or the EventSource's open), so nothing
// written after they resolve can be missed; a refusal rejects there.
//
// One WebSocket (`/v1/ws`) carries every subscription, channel and presence of a
// client. The token goes in the first frame (`{op: "auth"}`), never in the URL.
// When the socket drops (network, server restart, slow-consumer close) the
// client reconnects with exponential backoff and resubscribes each subscription
// from the last seq it received, with the database `epoch`; changes are
// deduplicated by seq, so each is yielded exactly once, in seq order. A resume
// point the server no longer has ends the subscription with
// `HistoryCompactedError` (take a new snapshot), never a silent gap.
//
// Tokens: `tokenProvider` (returning a fresh token) is asked on every
// (re)connect, and a JWT is re-sent with the `auth` op shortly before it expires.
//
// Fallback: when WebSockets cannot be opened but the server answers HTTP (a
// proxy that blocks them), or with `transport: 'sse'`, subscriptions use
// EventSource (`/v1/stream` with a single-use `?ticket=`, resuming with `since`)
// and channel publish/presence use REST.
import { resolveToken } from './connect.js';
import { ConnectionLostError, errorFromClose, errorFromProblem, LevelstreamError } from './errors.js';
import {
  Backoff,
  type Change,
  type ChannelMessage,
  ChannelSubscription,
  jwtExpiryMs,
  type Member,
  type PresenceEvent,
  type SubscribeOptions,
  Subscription,
} from './realtime-streams.js';

export * from './realtime-streams.js';

type WebSocketLike = {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
};
export type WebSocketConstructor = new (url: string) => WebSocketLike;

type EventSourceLike = {
  addEventListener(type: string, listener: (ev: { data?: unknown }) => void): void;
  close(): void;
};
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface RealtimeOptions {
  baseUrl: string;
  token?: string;
  /** Returns a fresh token; asked on every (re)connect and before a JWT expires. */
  tokenProvider?: () => string | Promise<string>;
  /** `auto` (default): WebSocket, falling back to SSE when WebSockets are blocked. */
  transport?: 'auto' | 'websocket' | 'sse';
  /** Default: the global `WebSocket` (browsers; Node 22, or Node 20 with --experimental-websocket). */
  WebSocket?: WebSocketConstructor;
  /** Default: the global `EventSource` (browsers; in Node pass e.g. the `eventsource` package). */
  EventSource?: EventSourceConstructor;
  fetch?: typeof fetch;
  reconnect?: boolean;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  requestTimeoutMs?: number;
  refreshMarginMs?: number;
  /** WebSocket attempts that fail to open, while HTTP works, before falling back to SSE. */
  fallbackAfterFailures?: number;
  /**
   * Told when the connection is up or lost, whichever transport is live: the WebSocket
   * session (authenticated, streams resubscribed) or, after the fallback, the Server-Sent
   * Events streams (up while every subscription's stream is open).
   */
  onConnectionChange?: (connected: boolean) => void;
}


const FELL_BACK = 'switched to Server-Sent Events';
const NO_WEBSOCKET =
  'no WebSocket implementation: this runtime has no global WebSocket (Node.js 20 has it only with ' +
  "--experimental-websocket). Use Node.js >= 22, or pass one: `import WebSocket from 'ws'; " +
  "new RealtimeClient({ ..., WebSocket })` (or transport: 'sse' with an EventSource)";
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

type AnyStream = Subscription | ChannelSubscription;
type Reply = Record<string, unknown>;

interface PendingReply {
  resolve: (reply: Reply) => void;
  reject: (error: unknown) => void;
}

export class RealtimeClient {
  readonly baseUrl: string;
  readonly wsUrl: string;
  transport: 'websocket' | 'sse';
  clientId: string | null = null;
  /** Successful WebSocket sessions (1 + reconnects). */
  connections = 0;

  private token: string | null;
  private readonly options: RealtimeOptions;
  private readonly fallbackAllowed: boolean;
  private readonly backoff: Backoff;
  private readonly requestTimeoutMs: number;
  private ids = 0;
  private ws: WebSocketLike | null = null;
  private connected = false;
  /** The streams whose EventSource is open now (the SSE transport's connection). */
  private openStreams = new Set<AnyStream>();
  /** What `onConnectionChange` was last told. */
  private linkUp = false;
  private connectWaiters: Array<() => void> = [];
  private running: Promise<void> | null = null;
  private pending = new Map<string, PendingReply>();
  private streams = new Map<string, AnyStream>();
  private joined = new Map<string, unknown>();
  private syncing: Promise<void> = Promise.resolve();
  private fatal: unknown = null;
  private closed = false;
  private authWaiter: PendingReply | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** `connect()` was called: the link is kept (and judged) with nothing subscribed too. */
  private keepUp = false;
  /** On SSE with no stream open: whether the last `/healthz` check was answered. */
  private probeOk = false;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: RealtimeOptions) {
    if (options.token === undefined && options.tokenProvider === undefined) {
      throw new Error('give a token or a tokenProvider');
    }
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.wsUrl = this.baseUrl.replace(/^http/, 'ws') + '/v1/ws';
    this.token = options.token ?? null;
    this.transport = options.transport === 'sse' ? 'sse' : 'websocket';
    this.fallbackAllowed = (options.transport ?? 'auto') === 'auto';
    this.backoff = new Backoff(options.backoffInitialMs ?? 100, options.backoffMaxMs ?? 5000);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** A current token: a fresh one from the provider, if there is one. */
  async currentToken(): Promise<string> {
    if (this.options.tokenProvider !== undefined) {
      this.token = await resolveToken(this.options.tokenProvider);
    }
    return this.token as string;
  }

  /**
   * Changes matching a filter, as an async iterator. Resolves once the server has the
   * subscription (live: a write made after it resolves is delivered), so await it before
   * writing; rejects with the server's refusal (`ForbiddenError`, ...) or when no
   * connection confirmed it within `requestTimeoutMs`.
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    return new Subscription(this, `s${++this.ids}`, options).start();
  }

  /** @internal Start a subscription of a custom kind (the offline replica's feed). */
  async subscribeWith<T extends Subscription>(make: (id: string) => T): Promise<T> {
    return make(`s${++this.ids}`).start();
  }

  /**
   * Keep the connection up while the client is open, with nothing subscribed too, so that
   * `isConnected` (and `onConnectionChange`) say whether the server is reachable at any
   * time: the WebSocket session reconnects as it does for subscriptions; on SSE, which has
   * no connection without a stream, the server's `/healthz` is asked every `backoffMaxMs`
   * while no stream is open.
   */
  connect(): void {
    this.keepUp = true;
    this.ensureRunning();
    this.probe();
  }

  /**
   * Whether the connection is up now: the WebSocket session, or on the SSE fallback every
   * subscription's EventSource (as the Python SDK: one reconnecting is changes not heard);
   * with no subscription, after `connect()`, whether `/healthz` last answered.
   */
  get isConnected(): boolean {
    if (this.transport === 'websocket') return this.connected;
    if (this.streams.size === 0) return this.keepUp && this.probeOk;
    for (const stream of this.streams.values()) if (!this.openStreams.has(stream)) return false;
    return true;
  }

  /** A channel's messages and presence events, as an async iterator; live once it resolves. */
  async channel(channel: string): Promise<ChannelSubscription> {
    return new ChannelSubscription(this, `c${++this.ids}`, channel).start();
  }

  /** Send an ephemeral message; resolves to how many subscribers got it. */
  async publish(channel: string, data: unknown): Promise<number> {
    if (this.transport === 'websocket') {
      try {
        return Number((await this.request('publish', { channel, data })).delivered ?? 0);
      } catch (error) {
        if (!(error instanceof ConnectionLostError && error.message === FELL_BACK)) throw error;
      }
    }
    const response = await this.rest('POST', `/v1/channels/${encodeURIComponent(channel)}/messages`, data);
    return Number((response as Reply).delivered ?? 0);
  }

  /** Appear in a channel's presence with `state` (again after each reconnect). */
  async join(channel: string, state: unknown = null): Promise<string> {
    if (this.transport !== 'websocket') throw new Error('presence join needs the WebSocket transport');
    const reply = await this.request('join', { channel, state });
    this.joined.set(channel, state);
    this.clientId = (reply.client_id as string | undefined) ?? this.clientId;
    return String(this.clientId);
  }

  async leave(channel: string): Promise<void> {
    this.joined.delete(channel);
    if (this.transport === 'websocket') await this.request('leave', { channel });
  }

  /** Who is joined to `channel` now. */
  async presence(channel: string): Promise<Member[]> {
    if (this.transport === 'websocket') {
      try {
        return ((await this.request('presence', { channel })).items ?? []) as Member[];
      } catch (error) {
        if (!(error instanceof ConnectionLostError && error.message === FELL_BACK)) throw error;
      }
    }
    const body = (await this.rest('GET', `/v1/channels/${encodeURIComponent(channel)}/presence`)) as Reply;
    return (body.items ?? []) as Member[];
  }

  /** Send one op over the WebSocket; `ok: false` rejects with the typed error. */
  async request(op: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    if (this.transport !== 'websocket') throw new Error(`op ${op} needs the WebSocket transport`);
    const ws = await this.waitConnected();
    return this.sendOp(ws, op, fields);
  }

  /** Close the connection and end every subscription. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.close();
    this.clearRefresh();
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.ws?.close(1000, 'client closed');
    this.wakeConnectWaiters();
    if (this.running !== null) await this.running;
  }

  // --- the WebSocket connection ---------------------------------------------------

  private sendOp(ws: WebSocketLike, op: string, fields: Record<string, unknown>): Promise<Reply> {
    const id = `r${++this.ids}`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ConnectionLostError(`no reply to ${op} in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          if (reply.type === 'reply' && reply.ok !== true) reject(errorFromProblem(reply.error ?? {}));
          else resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      try {
        ws.send(JSON.stringify({ op, id, ...fields }));
      } catch (error) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new ConnectionLostError(String(error)));
      }
    });
  }

  private async waitConnected(): Promise<WebSocketLike> {
    this.ensureRunning();
    const deadline = Date.now() + this.requestTimeoutMs;
    for (;;) {
      if (this.fatal !== null) throw this.fatal;
      if (this.closed) throw new ConnectionLostError('the client is closed');
      if (this.transport !== 'websocket') throw new ConnectionLostError(FELL_BACK);
      if (this.connected && this.ws !== null) return this.ws;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ConnectionLostError('not connected to the server');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 500));
        this.connectWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wakeConnectWaiters(): void {
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const wake of waiters) wake();
  }

  private ensureRunning(): void {
    if (this.running === null && !this.closed && this.transport === 'websocket') {
      this.running = this.run();
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    try {
      while (!this.closed) {
        const outcome = await this.connectOnce();
        if (outcome === 'stop') return;
        failures = outcome === 'never-opened' ? failures + 1 : 0;
        if (failures >= (this.options.fallbackAfterFailures ?? 2) && this.fallbackAllowed) {
          if (await this.httpReachable()) {
            this.fallBack();
            return;
          }
        }
        if (this.options.reconnect === false) {
          this.setFatal(new ConnectionLostError('connection closed'));
          return;
        }
        await this.backoff.sleep();
      }
    } catch (error) {
      this.setFatal(error);
    } finally {
      this.running = null;
    }
  }

  /** One connection's life: 'stop' ends the loop, else reconnect. */
  private async connectOnce(): Promise<'stop' | 'never-opened' | 'closed'> {
    const token = await this.currentToken();
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined) throw new Error(NO_WEBSOCKET);
    let ws: WebSocketLike;
    try {
      ws = new Ctor(this.wsUrl);
    } catch {
      return 'never-opened';
    }
    let opened = false;
    let settle: (result: { code: number; reason: string }) => void = () => {};
    let settled = false;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (settle = resolve));
    const finish = (code: number, reason: string): void => {
      if (!settled) {
        settled = true;
        settle({ code, reason });
      }
    };
    ws.onclose = (ev) => finish(ev.code, ev.reason);
    // Some implementations (Node 20's) report a refused connection with `error` alone.
    ws.onerror = () => {
      setTimeout(() => finish(1006, 'connection error'), opened ? 1000 : 0);
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    const open = new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(true);
      void closed.then(() => resolve(false));
    });
    if (!(await open)) return 'never-opened';
    opened = true;
    this.ws = ws;
    // First-frame auth: the token never appears in a URL or a log.
    const authed = new Promise<Reply>((resolve, reject) => (this.authWaiter = { resolve, reject }));
    ws.send(JSON.stringify({ op: 'auth', token }));
    const first = await Promise.race([authed, closed.then(() => null)]);
    this.authWaiter = null;
    if (first !== null) {
      this.clientId = (first.client_id as string | undefined) ?? this.clientId;
      this.connections += 1;
      this.backoff.reset();
      for (const stream of this.streams.values()) {
        if (stream instanceof Subscription && stream.snapshotPending) stream.restartSnapshot();
      }
      void this.onOpen(ws);
      this.scheduleRefresh(ws);
    }
    const { code, reason } = await closed;
    this.ws = null;
    this.connected = false;
    this.reportLink();
    this.clearRefresh();
    for (const pending of this.pending.values()) pending.reject(new ConnectionLostError('connection closed'));
    this.pending.clear();
    if (this.closed) return 'stop';
    // Reconnecting cannot help after these (4001 can, with a fresh token).
    if (code === 4003 || (code === 4001 && this.options.tokenProvider === undefined)) {
      this.setFatal(errorFromClose(code, reason));
      return 'stop';
    }
    return opened ? 'closed' : 'never-opened';
  }

  private async httpReachable(): Promise<boolean> {
    try {
      const response = await (this.options.fetch ?? fetch)(`${this.baseUrl}/healthz`);
      return response.ok;
    } catch {
      return false;
    }
  }

  private fallBack(): void {
    this.transport = 'sse';
    for (const stream of this.streams.values()) {
      stream.bound = null;
      void this.sseLoop(stream);
    }
    this.wakeConnectWaiters();
    this.probe();
  }

  /**
   * After `connect()`, on SSE: while no stream is open, ask `/healthz` now and every
   * `backoffMaxMs` (one timer at a time; a stream's EventSource is the link meanwhile).
   */
  private probe(): void {
    if (!this.keepUp || this.closed || this.transport !== 'sse' || this.probeTimer !== null) return;
    const check = async (): Promise<void> => {
      if (this.streams.size === 0) {
        const ok = await this.httpReachable();
        if (this.closed) return;
        this.probeOk = ok;
        this.reportLink();
      }
      this.probeTimer = setTimeout(() => {
        this.probeTimer = null;
        this.probe();
      }, this.options.backoffMaxMs ?? 5000);
    };
    this.probeTimer = setTimeout(() => void check(), 0);
  }

  private setFatal(error: unknown): void {
    this.fatal = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const stream of [...this.streams.values()]) stream.fail(error);
    this.wakeConnectWaiters();
  }

  private async onOpen(ws: WebSocketLike): Promise<void> {
    try {
      for (const [channel, state] of this.joined) {
        const reply = await this.sendOp(ws, 'join', { channel, state });
        this.clientId = (reply.client_id as string | undefined) ?? this.clientId;
      }
      await this.syncStreams(ws);
    } catch {
      return; // the connection dropped: the next one starts over
    }
    if (this.ws === ws) {
      this.connected = true;
      this.reportLink();
      this.wakeConnectWaiters();
    }
  }

  /** Tell `onConnectionChange` when `isConnected` changed (the one place it is told). */
  private reportLink(): void {
    const up = this.isConnected && !this.closed;
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.options.onConnectionChange?.(up);
  }

  /** (Re)subscribe every stream not yet subscribed on this connection, one at a time. */
  private syncStreams(ws: WebSocketLike): Promise<void> {
    const run = async (): Promise<void> => {
      for (const stream of [...this.streams.values()]) {
        if (stream.bound === ws || stream.ended) continue;
        let reply: Reply;
        try {
          reply = await this.sendOp(ws, 'subscribe', stream.frame());
        } catch (error) {
          if (error instanceof LevelstreamError) {
            stream.fail(error);
            continue;
          }
          throw error;
        }
        stream.bound = ws;
        stream.subscribed(reply);
        stream.markLive();
      }
    };
    const next = this.syncing.then(run, run);
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private onMessage(raw: unknown): void {
    let frame: Reply;
    try {
      frame = JSON.parse(String(raw)) as Reply;
    } catch {
      return;
    }
    const kind = frame.type;
    if (kind === 'reply' || kind === 'pong') {
      if (frame.id === null && this.authWaiter !== null) {
        const waiter = this.authWaiter;
        this.authWaiter = null;
        waiter.resolve(frame);
        return;
      }
      const pending = this.pending.get(String(frame.id));
      if (pending !== undefined) {
        this.pending.delete(String(frame.id));
        pending.resolve(frame);
      }
      return;
    }
    if (kind === 'presence') {
      const event = frame as unknown as PresenceEvent;
      for (const stream of this.streams.values()) {
        if (stream instanceof ChannelSubscription && stream.channel === event.channel) stream.push(event);
      }
      return;
    }
    const target = this.streams.get(String(frame.sub));
    if (target === undefined) return;
    if (target instanceof ChannelSubscription) {
      if (kind === 'message') {
        target.push({ type: 'message', channel: String(frame.channel), data: frame.data, from: (frame.from as string | null) ?? null });
      }
      return;
    }
    if (kind === 'change') target.onChange(frame.change as Change);
    else if (kind === 'snapshot') {
      target.onSnapshot(frame.items as Array<Record<string, unknown>>, Number(frame.seq), frame.done === true);
    } else if (kind === 'reset') target.onReset(frame.oldest_seq, frame.reason);
    else if (kind === 'error') target.fail(errorFromProblem(frame.error ?? {}));
  }

  private scheduleRefresh(ws: WebSocketLike, previous: number | null = null): void {
    this.clearRefresh();
    if (this.options.tokenProvider === undefined) return;
    const expiry = jwtExpiryMs(this.token ?? '');
    if (expiry === null || expiry === previous) return; // not a JWT, or no newer one: 4001 will tell
    const remaining = expiry - Date.now();
    const margin = Math.min(this.options.refreshMarginMs ?? 30_000, remaining / 2);
    this.refreshTimer = setTimeout(() => {
      void (async () => {
        try {
          await this.sendOp(ws, 'auth', { token: await this.currentToken() });
          if (this.ws === ws) this.scheduleRefresh(ws, expiry);
        } catch {
          ws.close(4001, 'token refresh refused');
        }
      })();
    }, Math.max(remaining - margin, 50));
  }

  private clearRefresh(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  // --- streams ------------------------------------------------------------------------

  /** @internal Register `stream`; resolves once the server has it (or rejects with why not). */
  async startStream(stream: AnyStream): Promise<void> {
    if (this.fatal !== null) throw this.fatal;
    this.streams.set(stream.id, stream);
    const deadline = Date.now() + this.requestTimeoutMs;
    if (this.transport === 'sse') {
      this.reportLink(); // not open yet
      void this.sseLoop(stream);
    } else {
      try {
        await this.syncStreams(await this.waitConnected());
      } catch (error) {
        if (!(error instanceof ConnectionLostError)) throw error;
        // subscribed by the next connection's setup, or by the SSE fallback
      }
    }
    if (!(await stream.waitLive(deadline - Date.now()))) {
      stream.close();
      throw new ConnectionLostError(`the server did not confirm the subscription in ${this.requestTimeoutMs} ms`);
    }
    if (stream.ended && stream.error !== null && stream.pending === 0) throw stream.error;
  }

  /** @internal */
  forget(stream: AnyStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (this.transport === 'sse') this.reportLink();
    const ws = this.ws;
    if (ws !== null && stream.bound === ws && !this.closed) {
      try {
        ws.send(JSON.stringify({ op: 'unsubscribe', id: null, sub: stream.id }));
      } catch {
        // closing anyway
      }
    }
  }

  /** @internal The consumer fell too far behind: drop the subscription, resume from the log. */
  async resync(sub: Subscription): Promise<void> {
    sub.overflowed = false;
    if (this.transport === 'sse') {
      sub.eventSource?.close();
      return; // the SSE loop reconnects from lastSeq
    }
    const ws = this.ws;
    if (ws === null || sub.bound !== ws) return;
    try {
      await this.sendOp(ws, 'unsubscribe', { sub: sub.id });
    } catch {
      // gone already
    }
    sub.bound = null;
    await this.syncStreams(ws).catch(() => undefined);
  }

  // --- Server-Sent Events fallback -----------------------------------------------------

  private async rest(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.currentToken()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await (this.options.fetch ?? fetch)(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    if (!response.ok) throw errorFromProblem(parsed, response.status);
    return parsed;
  }

  private async sseLoop(stream: AnyStream): Promise<void> {
    const backoff = new Backoff(this.options.backoffInitialMs ?? 100, this.options.backoffMaxMs ?? 5000);
    const Ctor = this.options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (Ctor === undefined) {
      stream.fail(new Error('no EventSource implementation: pass options.EventSource'));
      return;
    }
    while (!stream.ended && !this.closed) {
      let ticket: string;
      try {
        ticket = String(((await this.rest('POST', '/v1/auth/ticket')) as Reply).ticket);
      } catch (error) {
        const status = error instanceof LevelstreamError ? error.status : undefined;
        const retry =
          !(error instanceof LevelstreamError) ||
          RETRY_STATUSES.has(status ?? 0) ||
          (status === 401 && this.options.tokenProvider !== undefined);
        if (!retry) {
          stream.fail(error);
          return;
        }
        await backoff.sleep();
        continue;
      }
      const params = new URLSearchParams({ ticket });
      if (stream instanceof Subscription) {
        params.set('collection', stream.collection);
        for (const [name, value] of Object.entries(stream.filters)) params.set(name, value);
        if (stream.snapshotPending) {
          stream.restartSnapshot();
          params.set('snapshot', 'true');
        } else if (stream.lastSeq !== null) {
          params.set('since', String(stream.lastSeq));
        }
        if (stream.epoch !== null) params.set('epoch', stream.epoch);
      } else {
        params.set('channel', stream.channel);
      }
      const outcome = await this.readEventSource(new Ctor(`${this.baseUrl}/v1/stream?${params}`), stream, backoff);
      if (outcome === 'end') return;
      if (this.options.reconnect === false) {
        stream.fail(new ConnectionLostError('stream closed'));
        return;
      }
      await backoff.sleep();
    }
  }

  /** Feed one EventSource to `stream` until it ends ('end') or drops ('retry'). */
  private readEventSource(source: EventSourceLike, stream: AnyStream, backoff: Backoff): Promise<'end' | 'retry'> {
    stream.eventSource = source;
    return new Promise((resolve) => {
      let poll: ReturnType<typeof setInterval> | undefined;
      const finish = (outcome: 'end' | 'retry'): void => {
        clearInterval(poll);
        source.close();
        if (stream.eventSource === source) stream.eventSource = null;
        if (this.openStreams.delete(stream)) this.reportLink();
        resolve(outcome);
      };
      const json = (ev: { data?: unknown }): Reply | null => {
        try {
          return JSON.parse(String(ev.data)) as Reply;
        } catch {
          return null;
        }
      };
      source.addEventListener('open', () => {
        backoff.reset();
        this.openStreams.add(stream);
        this.probeOk = true; // the server answered (what a check would say)
        this.reportLink();
        stream.markLive(); // the server registers the subscription before it answers
      });
      source.addEventListener('error', (ev) => {
        if (typeof ev.data === 'string' && ev.data !== '') {
          stream.fail(errorFromProblem(json(ev) ?? {})); // the server's `event: error`
          finish('end');
        } else {
          finish(stream.ended ? 'end' : 'retry'); // the connection dropped: reconnect ourselves
        }
      });
      if (stream instanceof Subscription) {
        source.addEventListener('change', (ev) => {
          const change = json(ev);
          if (change !== null) stream.onChange(change as unknown as Change);
        });
        source.addEventListener('snapshot', (ev) => {
          const page = json(ev);
          if (page !== null) {
            stream.onSnapshot(page.items as Array<Record<string, unknown>>, Number(page.seq), page.done === true);
          }
        });
        source.addEventListener('reset', (ev) => {
          const data = json(ev);
          stream.onReset(data?.oldest_seq ?? null, data?.reason);
          finish('end');
        });
      } else {
        source.addEventListener('message', (ev) => {
          const data = json(ev);
          if (data !== null) {
            stream.push({ type: 'message', channel: String(data.channel), data: data.data, from: (data.from as string | null) ?? null });
          }
        });
        source.addEventListener('presence', (ev) => {
          const data = json(ev);
          if (data !== null) stream.push({ type: 'presence', ...(data as object) } as PresenceEvent);
        });
      }
      // close() on the stream closes the source; make that end this read too.
      poll = setInterval(() => {
        if (stream.ended || this.closed || stream.eventSource !== source) {
          finish(stream.ended || this.closed ? 'end' : 'retry');
        }
      }, 250);
    });
  }
}
