/**
 * The errors of sabre/redis. Like every sabre error they carry a stable `code` (see src/errors.ts).
 * This module imports nothing from @redis/client, so the missing-client error can be thrown
 * before the client is loaded.
 */
import { SabreError } from '../errors.js';

/**
 * Redis could not be reached (refused, closed, or no reply within `commandTimeoutMs`) and no
 * last-known value within `graceMs` could stand in. Nothing is known to have changed: a write
 * that timed out may still have reached Redis, so retry idempotent writes only.
 */
export class StoreUnavailableError extends SabreError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SABRE_STORE_UNAVAILABLE', message, options);
  }
}

/**
 * Redis answered, but not with what sabre asked for: an error reply (`WRONGTYPE`: the key holds
 * something else; `OOM`; `NOPERM`; …), or a value under a sabre key that sabre did not write.
 * Not a transport failure: retrying will not help until the key or the server is fixed.
 */
export class StoreReplyError extends SabreError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SABRE_STORE_REPLY', message, options);
  }
}

/** An optional peer dependency that this entry point needs is not installed. */
export class MissingPeerError extends SabreError {
  /** The package to install. */
  readonly peer: string;

  constructor(peer: string, entryPoint: string, options?: ErrorOptions) {
    super('ERR_SABRE_MISSING_PEER', `${entryPoint} needs the optional peer dependency ${peer}: npm install ${peer}`, options);
    this.peer = peer;
  }
}
