/**
 * Typed errors. Every error sabre throws is a {@link SabreError} with a stable `code`, so callers
 * can branch on `err.code` (or `instanceof`) instead of parsing messages. An operation that
 * throws one of these has left shared memory exactly as it found it.
 */

/** Base class of every error sabre throws. */
export class SabreError extends Error {
  /** A stable, machine-readable code such as `ERR_SABRE_INVALID_ARGUMENT`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument has the wrong type, is out of range (NaN, negative, too large) or cannot be used. */
export class InvalidArgumentError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_INVALID_ARGUMENT', message);
  }
}

/** A handle is malformed, of another kind of primitive, of another layout version, or points at memory that does not hold what it claims. */
export class HandleError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_HANDLE', message);
  }
}

/** A lock was released by a thread that does not hold it. */
export class NotOwnerError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_NOT_OWNER', message);
  }
}

/** The call is not allowed in the primitive's current state (over-release, over-count-down, self-deadlock). */
export class IllegalStateError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_ILLEGAL_STATE', message);
  }
}

/** A blocking call was made on the main thread, where it would freeze timers and I/O. */
export class MainThreadBlockingError extends SabreError {
  constructor(what: string, asyncAlternative: string) {
    super(
      'ERR_SABRE_MAIN_THREAD_BLOCKING',
      `${what} would block the main thread's event loop (timers and I/O freeze while it waits); use ${asyncAlternative} on the main thread`,
    );
  }
}

/** A `with…` helper or a barrier gave up waiting after its timeout. */
export class TimeoutError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_TIMEOUT', message);
  }
}

/** A barrier generation was broken because a party timed out or was aborted; reset() makes it usable again. */
export class BarrierBrokenError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_BARRIER_BROKEN', message);
  }
}

/** A pool or cache refused new work because the memory guard is at its limit. */
export class MemoryLimitError extends SabreError {
  constructor(message: string) {
    super('ERR_SABRE_MEMORY_LIMIT', message);
  }
}

/**
 * A synchronous cache call could not take one of the cache's internal locks within the cache's
 * `lockTimeoutMs`. Those locks are held for microseconds, so the holder is stuck or has died; a
 * `sabre/pool` recovers a dead worker's locks as soon as the main thread's event loop runs, so
 * retry after yielding to it (`await setImmediate()`), or recover it yourself
 * (`cache.recoverDeadThread(threadId)` from the Worker's `'exit'` event). Nothing was changed.
 */
export class LockUnavailableError extends SabreError {
  /** The thread that held the lock when the wait ended, or null if it had just been released. */
  readonly holderThreadId: number | null;

  constructor(message: string, holderThreadId: number | null) {
    super('ERR_SABRE_LOCK_UNAVAILABLE', message);
    this.holderThreadId = holderThreadId;
  }
}

/**
 * A TypeScript module (`.ts`, `.mts`, `.cts`) was to be imported on a Node that cannot strip
 * types by itself (before 22.18), and amaro, the type stripper sabre uses there (an optional peer
 * dependency), is not installed. The message says how to fix it.
 */
export class TypeScriptUnavailableError extends SabreError {
  /** The TypeScript file that could not be imported (a path). */
  readonly file: string;

  constructor(message: string, file: string) {
    super('ERR_SABRE_TYPESCRIPT_UNAVAILABLE', message);
    this.file = file;
  }
}
