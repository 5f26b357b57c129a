/**
 * The conditional writes Redis has no single command for before 8.4: compare-and-set,
 * compare-and-delete, increment of a sabre-encoded counter, and expire(key, Infinity). Each is
 * one Lua script, so it runs atomically on the server; on Redis 8.4 and later compare-and-set and
 * compare-and-delete use the native `SET … IFEQ` and `DELEX … IFEQ` instead (the version is read
 * once, at connect).
 *
 * A TTL argument is one string: '' keeps the entry's expiry, 'inf' removes it, digits set it (PX).
 */
import { Tag } from '../cache/codec.js';
import { type Connection, defineScript } from './connection.js';

/** A TTL as the scripts take it. */
export type TtlArg = '' | 'inf' | `${number}`;

export function ttlArg(ttlMs: number | undefined): TtlArg {
  if (ttlMs === undefined) return '';
  // PX takes whole milliseconds; round up so that a TTL never ends early.
  return ttlMs === Infinity ? 'inf' : `${Math.ceil(ttlMs)}`;
}

/** The SET arguments that apply a TtlArg. */
function setTtl(ttl: TtlArg): string[] {
  if (ttl === '') return ['KEEPTTL'];
  return ttl === 'inf' ? [] : ['PX', ttl];
}

// Lua: SET with a TtlArg (ARGV[i]).
const LUA_SET = `
local function set(key, value, ttl)
  if ttl == '' then return redis.call('SET', key, value, 'KEEPTTL') end
  if ttl == 'inf' then return redis.call('SET', key, value) end
  return redis.call('SET', key, value, 'PX', ttl)
end
`;

const COMPARE_AND_SET = defineScript(`${LUA_SET}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
set(KEYS[1], ARGV[2], ARGV[3])
return 1`);

/** Also what releases a lease: delete only while it holds the owner's token. */
export const COMPARE_AND_DELETE = defineScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`);

const PERSIST = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('PERSIST', KEYS[1])
return 1`);

/**
 * increment(key, delta): SharedCache's integer rules, exactly. A number counter (tag NUMBER, a
 * float64) must hold a safe integer and stay within ±(2^53-1); a bigint counter (tag BIGSTR,
 * decimal) stays within int64. The sum is INCRBY's (exact int64 arithmetic, where Lua's doubles
 * are not): the script puts the counter's decimal digits in the key, INCRBYs it, and writes the
 * result back encoded, keeping the TTL (KEEPTTL). A refused increment restores what was there:
 * all of it inside one script, so no other client ever sees the digits.
 * ARGV: delta (decimal), the kind of a new counter ('n' or 'b'), a new counter's TtlArg.
 * Returns {kind, decimal result}, or an error reply SABRE_NOT_INTEGER / SABRE_RANGE <value>.
 */
const INCREMENT = defineScript(`${LUA_SET}
local NUMBER, BIGSTR = ${Tag.NUMBER}, ${Tag.BIGSTR}
local MAX_SAFE = 9007199254740991
local old = redis.call('GET', KEYS[1])
local kind, digits
if not old then
  kind, digits = ARGV[2], '0'
  set(KEYS[1], digits, ARGV[3])
else
  local tag = string.byte(old, 1)
  if tag == NUMBER and #old == 9 then
    local x = struct.unpack('<d', old, 2)
    if x ~= x or x ~= math.floor(x) or math.abs(x) > MAX_SAFE then return redis.error_reply('SABRE_NOT_INTEGER') end
    kind, digits = 'n', string.format('%.0f', x)
    if x == 0 then digits = '0' end
  elseif tag == BIGSTR then
    kind, digits = 'b', string.sub(old, 2)
  else
    return redis.error_reply('SABRE_NOT_INTEGER')
  end
  redis.call('SET', KEYS[1], digits, 'KEEPTTL')
end
local function restore()
  if old then redis.call('SET', KEYS[1], old, 'KEEPTTL') else redis.call('DEL', KEYS[1]) end
end
local sum = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(sum) == 'table' and sum.err then
  restore()
  return redis.error_reply('SABRE_RANGE ' .. digits .. ' + ' .. ARGV[1] .. ' is outside int64')
end
-- INCRBY's reply reaches Lua as a double: read the exact digits back instead.
local result = redis.call('GET', KEYS[1])
if kind == 'n' then
  -- Rounding to a double is monotonic, so this bound is exact for the exact sum.
  if math.abs(tonumber(result)) > MAX_SAFE then
    restore()
    return redis.error_reply('SABRE_RANGE ' .. result .. ' is not a safe integer (use bigint counters beyond 2^53)')
  end
  redis.call('SET', KEYS[1], struct.pack('<Bd', NUMBER, tonumber(result)), 'KEEPTTL')
else
  redis.call('SET', KEYS[1], string.char(BIGSTR) .. result, 'KEEPTTL')
end
return {kind, result}`);

/** Whether `version` ("8.4.0") is at least major.minor. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** The atomic conditional writes of one connection, on the server version it talks to. */
export class AtomicOps {
  readonly #connection: Connection;
  /** Redis 8.4+: SET IFEQ and DELEX. */
  readonly native: boolean;

  constructor(connection: Connection, serverVersion: string) {
    this.#connection = connection;
    this.native = versionAtLeast(serverVersion, 8, 4);
  }

  /** Sets `next` if the key holds exactly `expected` (byte for byte). */
  async compareAndSet(key: Buffer, expected: Buffer, next: Buffer, ttl: TtlArg): Promise<boolean> {
    if (this.native) return (await this.#connection.call(['SET', key, next, 'IFEQ', expected, ...setTtl(ttl)], key)) !== null;
    return (await this.#connection.script<number>(COMPARE_AND_SET, [key], [expected, next, ttl])) === 1;
  }

  /** Deletes the key if it holds exactly `expected`. */
  async compareAndDelete(key: Buffer, expected: Buffer): Promise<boolean> {
    if (this.native) return (await this.#connection.call<number>(['DELEX', key, 'IFEQ', expected], key)) === 1;
    return (await this.#connection.script<number>(COMPARE_AND_DELETE, [key], [expected])) === 1;
  }

  /** Adds `delta` to the counter; returns its kind ('n' number, 'b' bigint) and the exact decimal result. */
  async increment(key: Buffer, delta: number | bigint, ttl: TtlArg): Promise<[kind: Buffer, digits: Buffer]> {
    return this.#connection.script(INCREMENT, [key], [String(delta), typeof delta === 'bigint' ? 'b' : 'n', ttl]);
  }

  /** Removes the key's expiry; false if there is no such key. */
  async persist(key: Buffer): Promise<boolean> {
    return (await this.#connection.script<number>(PERSIST, [key], [])) === 1;
  }
}
