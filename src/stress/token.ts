/**
 * Replay tokens: everything needed to run one variant of one scenario again with the same random
 * choices (seed, parameters, trial count), as one copy-pasteable string for `--replay`.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

const TokenSchema = z.object({
  v: z.literal(1),
  scenario: z.string().regex(/^[A-Za-z0-9-]+$/),
  variant: z.enum(['unsafe', 'safe']),
  seed: z.number().int().nonnegative(),
  trials: z.number().int().positive(),
  params: z.record(z.string(), z.number().finite()),
  module: z.string().optional(),
});

export type ReplayToken = z.infer<typeof TokenSchema>;

export function encodeToken(token: ReplayToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** Decodes and checks a token; a malformed one is an InvalidArgumentError that says what is wrong. */
export function decodeToken(text: string): ReplayToken {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidArgumentError('--replay: the token is not a sabre replay token (not base64url JSON)');
  }
  const parsed = TokenSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidArgumentError(`--replay: bad token: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'token'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
