// Typed errors for Levelstream's RFC 9457 problems (hand-written; `make sdk` keeps it).
//
// Every error the server returns is a problem document with a machine-readable
// `code`; each code has its own class, so callers write
// `if (err instanceof PreconditionFailedError)` instead of comparing statuses.
// The REST client from `connect()` throws them, and so does the real-time client
// (`ok: false` replies, close codes, `reset`).

export type ProblemCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'history_compacted'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export interface ProblemDocument {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  message?: string;
  code?: string;
  request_id?: string | null;
  [member: string]: unknown;
}

export class LevelstreamError extends Error {
  readonly code: ProblemCode;
  readonly status: number | undefined;
  readonly detail: string;
  readonly problem: ProblemDocument;

  constructor(code: ProblemCode, detail: string, status?: number, problem: ProblemDocument = {}) {
    // A detail that only repeats the code ("unauthorized: unauthorized") says nothing.
    const said = detail === '' || detail === code ? '' : `: ${detail}`;
    super(`${code}${said}${status !== undefined ? ` (status ${status})` : ''}`);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.problem = problem;
  }

  get requestId(): string | undefined {
    const id = this.problem.request_id;
    return typeof id === 'string' ? id : undefined;
  }
}

export class BadRequestError extends LevelstreamError {}
export class ValidationFailedError extends LevelstreamError {}
export class UnauthorizedError extends LevelstreamError {}
export class ForbiddenError extends LevelstreamError {}
export class NotFoundError extends LevelstreamError {}
export class ConflictError extends LevelstreamError {}
/** `If-Match` / `if_rev` did not match: someone else wrote first. */
export class PreconditionFailedError extends LevelstreamError {
  get currentRev(): number | null {
    const rev = this.problem.current_rev;
    return typeof rev === 'number' ? rev : null;
  }
}
export class PayloadTooLargeError extends LevelstreamError {}
/** The resume point is older than the change log keeps: take a new snapshot. */
export class HistoryCompactedError extends LevelstreamError {
  get oldestSeq(): number | null {
    const seq = this.problem.oldest_seq;
    return typeof seq === 'number' ? seq : null;
  }
}
/**
 * A `reset` with `reason: 'rules_changed'`: a rule change altered what the subscription
 * shows (documents may be hidden without changing). A `HistoryCompactedError`, so code
 * that takes a new snapshot on history_compacted does the right thing; `reason` tells
 * the two apart.
 */
export class RulesChangedError extends HistoryCompactedError {
  readonly reason = 'rules_changed' as const;
}
export class RateLimitedError extends LevelstreamError {}
export class UnavailableError extends LevelstreamError {}
export class InternalError extends LevelstreamError {}
/** The connection dropped while a request waited for its reply (it may have run). */
export class ConnectionLostError extends Error {
  constructor(message = 'connection lost') {
    super(message);
    this.name = 'ConnectionLostError';
  }
}

const CLASSES: Record<ProblemCode, typeof LevelstreamError> = {
  bad_request: BadRequestError,
  validation_failed: ValidationFailedError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  conflict: ConflictError,
  precondition_failed: PreconditionFailedError,
  payload_too_large: PayloadTooLargeError,
  history_compacted: HistoryCompactedError,
  rate_limited: RateLimitedError,
  unavailable: UnavailableError,
  internal: InternalError,
};

const CODE_BY_STATUS: Record<number, ProblemCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'history_compacted',
  412: 'precondition_failed',
  413: 'payload_too_large',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'unavailable',
};

/** The typed error for a problem document (or a WebSocket `error` object). */
export function errorFromProblem(problem: unknown, status?: number): LevelstreamError {
  const doc: ProblemDocument =
    problem !== null && typeof problem === 'object'
      ? (problem as ProblemDocument)
      : { detail: String(problem ?? '') };
  const httpStatus = status ?? (typeof doc.status === 'number' ? doc.status : undefined);
  let code = doc.code as ProblemCode | undefined;
  if (code === undefined || !(code in CLASSES)) {
    code = CODE_BY_STATUS[httpStatus ?? 0] ?? 'internal';
  }
  const detail = String(doc.detail ?? doc.message ?? '');
  return new CLASSES[code](code, detail, httpStatus, doc);
}

// What a WebSocket close code means, for a close whose reason is empty or just the code.
const CLOSE_MEANING: Record<4001 | 4003, [ProblemCode, number, string]> = {
  4001: [
    'unauthorized',
    401,
    'the server refused the credential: the token is missing, invalid, expired or revoked, ' +
      'or the ticket was already used',
  ],
  4003: [
    'forbidden',
    403,
    'the credential may no longer use this connection: the key was revoked or changed, ' +
      'or its rights do not allow this origin or address',
  ],
};

/** The typed error for a WebSocket closed with 4001 or 4003: what was wrong. */
export function errorFromClose(code: 4001 | 4003, reason: string): LevelstreamError {
  const [problemCode, status, meaning] = CLOSE_MEANING[code];
  let said = reason.trim();
  if (said.startsWith('{')) {
    // The server's reason is JSON, `{"code", "detail"?, ...}`: the detail says what.
    try {
      const parsed: unknown = JSON.parse(said);
      if (parsed !== null && typeof parsed === 'object') {
        const { detail, code: saidCode } = parsed as { detail?: unknown; code?: unknown };
        said = typeof detail === 'string' ? detail : typeof saidCode === 'string' ? saidCode : '';
      }
    } catch {
      // not JSON after all: shown as it came
    }
  }
  const detail = said === '' || said === problemCode ? meaning : said;
  return new CLASSES[problemCode](problemCode, `${detail} (WebSocket close ${code})`, status, {
    close_code: code,
  });
}
