// Subscriptions and the values they yield (hand-written; `make sdk` keeps it). The
// RealtimeClient in ./realtime.ts feeds them; see there for the protocol and guarantees.
import { errorFromProblem, HistoryCompactedError, RulesChangedError } from './errors.js';
import type { RealtimeClient } from './realtime.js';

export interface Change {
  seq: number;
  /**
   * `put` and `delete` as written. On a filtered subscription (a `where`, or a read rule),
   * `leave`: the document stopped matching (its `value` is null): drop it from the view.
   */
  op: 'put' | 'delete' | 'leave';
  collection: string;
  key: string;
  value: unknown;
  rev: number;
  prev_rev: number | null;
  ts: string;
  reason?: string;
  /** A document of the initial snapshot (its `seq` is the snapshot's). */
  snapshot?: boolean;
  /**
   * Filtered subscriptions only, on a put: `enter` (it did not match before: add it) or
   * `update` (it matched and still does). Absent on unfiltered subscriptions.
   */
  match?: 'enter' | 'update';
}

export interface ChannelMessage {
  type: 'message';
  channel: string;
  data: unknown;
  /** The publisher's client id (WebSocket) or credential (REST). */
  from: string | null;
}

export interface PresenceEvent {
  type: 'presence';
  channel: string;
  action: 'join' | 'leave';
  client_id: string;
  state: unknown;
}

export interface Member {
  client_id: string;
  state: unknown;
  joined_at: string;
}

export interface SubscribeOptions {
  /** A collection, or `*` for every collection the credential may read. */
  collection: string;
  key?: string;
  prefix?: string;
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  /**
   * A CEL filter (docs/queries.md): the subscription keeps a view of the matching
   * documents, delivered as puts with `match` (`enter`/`update`), `leave` and `delete`.
   */
  where?: string;
  /** Every change after this seq, then live. */
  since?: number;
  /** Every matching document first (as `snapshot: true` changes), then later changes. */
  snapshot?: boolean;
  /** The epoch `since` came from: another database's gives `HistoryCompactedError`. */
  epoch?: string;
}


/** Something that can be closed and re-bound to a connection (a WebSocket or EventSource). */
export type Closable = { close(code?: number, reason?: string): void };

const MAX_PENDING = 10_000; // changes queued for a consumer before it is resynced from the log

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly initial: number,
    private readonly maximum: number,
  ) {}
  reset(): void {
    this.attempt = 0;
  }
  sleep(): Promise<void> {
    const ceiling = Math.min(this.maximum, this.initial * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return delay(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function base64UrlDecode(part: string): string {
  const padded = part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4);
  return atob(padded);
}

/** The `exp` of a JWT in ms (unverified: only to know when to refresh), else null. */
export function jwtExpiryMs(token: string): number | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1]!)) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** An async iterator fed by the client: queued items, then the end (or an error). */

export class Stream<T> implements AsyncIterableIterator<T> {
  protected items: T[] = [];
  private wakeup: (() => void) | null = null;
  ended = false;
  error: unknown = null;
  started = false;
  bound: Closable | null = null;
  eventSource: Closable | null = null;
  /** True once the server has the subscription (or it ended): `start()` waits for it. */
  live = false;
  private liveWaiters: Array<() => void> = [];

  constructor(
    protected readonly client: RealtimeClient,
    readonly id: string,
  ) {}

  /** @internal The server confirmed the subscription (or it ended). */
  markLive(): void {
    this.live = true;
    const waiters = this.liveWaiters;
    this.liveWaiters = [];
    for (const wake of waiters) wake();
  }

  /** @internal Resolves true once live (or ended), false after `timeoutMs`. */
  waitLive(timeoutMs: number): Promise<boolean> {
    if (this.live || this.ended) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(this.live || this.ended), Math.max(timeoutMs, 0));
      this.liveWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
    this.markLive();
    this.client.forget(this as unknown as Subscription | ChannelSubscription);
  }

  private wake(): void {
    const wakeup = this.wakeup;
    this.wakeup = null;
    wakeup?.();
  }

  frame(): Record<string, unknown> {
    return { sub: this.id };
  }

  subscribed(_reply: Record<string, unknown>): void {}

  /** Subscribe (once: `subscribe()` and `channel()` already did); resolves when the server has it. */
  async start(): Promise<this> {
    if (!this.started) {
      this.started = true;
      await this.client.startStream(this as unknown as Subscription | ChannelSubscription);
    }
    return this;
  }

  protected async beforeNext(): Promise<void> {}

  async next(): Promise<IteratorResult<T>> {
    await this.start();
    await this.beforeNext();
    for (;;) {
      if (this.items.length > 0) return { value: this.items.shift() as T, done: false };
      if (this.ended) {
        if (this.error !== null) throw this.error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.wakeup = resolve));
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stop the subscription (the server is told, if connected). */
  close(): void {
    this.fail(null);
    this.eventSource?.close();
    this.eventSource = null;
  }

  get pending(): number {
    return this.items.length;
  }
}

/** Changes matching a filter. `lastSeq` is where a resume starts; `epoch` the database's id. */
export class Subscription extends Stream<Change> {
  readonly collection: string;
  readonly filters: Record<string, string>;
  lastSeq: number | null;
  epoch: string | null;
  snapshotPending: boolean;
  protected snapshotItems: Array<Record<string, unknown>> = [];
  overflowed = false;
  /** Called when a snapshot is complete (also an empty one), with its seq and size. */
  onSnapshotDone: ((seq: number, count: number) => void) | null = null;

  constructor(client: RealtimeClient, id: string, options: SubscribeOptions) {
    super(client, id);
    this.collection = options.collection;
    this.filters = {};
    for (const name of ['key', 'prefix', 'gt', 'gte', 'lt', 'lte', 'where'] as const) {
      const value = options[name];
      if (value !== undefined) this.filters[name] = value;
    }
    this.lastSeq = options.since ?? null;
    this.epoch = options.epoch ?? null;
    this.snapshotPending = options.snapshot ?? false;
  }

  override frame(): Record<string, unknown> {
    const frame: Record<string, unknown> = { sub: this.id, collection: this.collection, ...this.filters };
    if (this.snapshotPending) frame.snapshot = true;
    else if (this.lastSeq !== null) frame.since = this.lastSeq;
    if (this.epoch !== null) frame.epoch = this.epoch;
    return frame;
  }

  override subscribed(reply: Record<string, unknown>): void {
    if (this.epoch === null && typeof reply.epoch === 'string') this.epoch = reply.epoch;
    if (this.lastSeq === null && !this.snapshotPending) this.lastSeq = Number(reply.seq);
  }

  protected override async beforeNext(): Promise<void> {
    if (this.overflowed && this.items.length === 0 && !this.ended) await this.client.resync(this);
  }

  onChange(change: Change): void {
    if (typeof change.seq !== 'number' || this.snapshotPending) return;
    if (this.lastSeq !== null && change.seq <= this.lastSeq) return; // already delivered
    if (this.overflowed) return; // resynced from lastSeq once the consumer catches up
    if (this.items.length >= MAX_PENDING) {
      this.overflowed = true;
      return;
    }
    this.lastSeq = change.seq;
    this.push(change);
  }

  onSnapshot(items: Array<Record<string, unknown>>, seq: number, done: boolean): void {
    if (!this.snapshotPending) return;
    this.snapshotItems.push(...items);
    if (!done) return;
    for (const envelope of this.snapshotItems) {
      this.push({
        seq,
        op: 'put',
        collection: String(envelope.collection),
        key: String(envelope.key),
        value: envelope.value,
        rev: Number(envelope.rev),
        prev_rev: null,
        ts: String(envelope.updated_at ?? ''),
        snapshot: true,
      });
    }
    const count = this.snapshotItems.length;
    this.snapshotItems = [];
    this.snapshotPending = false;
    this.lastSeq = seq;
    this.onSnapshotDone?.(seq, count);
  }

  restartSnapshot(): void {
    this.snapshotItems = [];
  }

  /**
   * The server ended the subscription: its resume point is gone (`history_compacted`), or
   * a rule change altered its view (`reason: 'rules_changed'`, a `RulesChangedError`,
   * which is a `HistoryCompactedError`: either way, take a new snapshot).
   */
  onReset(oldestSeq: unknown, reason?: unknown): void {
    this.fail(resetError(oldestSeq, reason));
  }
}

/** The error a `reset` frame ends a subscription with. */
export function resetError(oldestSeq: unknown, reason?: unknown): HistoryCompactedError {
  if (reason === 'rules_changed') {
    const detail = 'a rule change altered what this subscription shows: take a new snapshot';
    return new RulesChangedError('history_compacted', detail, 410, { code: 'history_compacted', detail, reason });
  }
  const detail =
    'the resume point is no longer in the change log (or the database was replaced): take a new snapshot';
  return errorFromProblem({ code: 'history_compacted', detail, oldest_seq: oldestSeq }, 410) as HistoryCompactedError;
}

/** A channel's messages and presence changes. */
export class ChannelSubscription extends Stream<ChannelMessage | PresenceEvent> {
  constructor(
    client: RealtimeClient,
    id: string,
    readonly channel: string,
  ) {
    super(client, id);
  }

  override frame(): Record<string, unknown> {
    return { sub: this.id, channel: this.channel };
  }
}

