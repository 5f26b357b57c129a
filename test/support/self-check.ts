/**
 * Self-checking cache values: each value encodes its key and version and a body whose length
 * and content follow from them, so a reader can tell a whole value from a torn or mixed one.
 * Even versions are strings, odd versions bytes; sizes vary from 0 to ~300 bytes, so values
 * span one to several 60-byte chunks.
 */

function lengthFor(key: string, version: number): number {
  let h = version * 7;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % 300;
}

export function selfCheckingValue(key: string, version: number): string | Uint8Array {
  const n = lengthFor(key, version);
  if (version % 2 === 0) return `${key}#${version}#${String.fromCharCode(97 + (version % 26)).repeat(n)}#${n}`;
  const bytes = new Uint8Array(8 + n);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, version, true);
  view.setInt32(4, n, true);
  for (let i = 0; i < n; i++) bytes[8 + i] = (version + i) & 0xff;
  return bytes;
}

/** The version the value claims, if it is a whole self-checking value of `key`; otherwise null. */
export function checkValue(key: string, value: unknown): number | null {
  if (typeof value === 'string') {
    const parts = value.split('#');
    if (parts.length !== 4 || parts[0] !== key) return null;
    const version = Number(parts[1]);
    const n = lengthFor(key, version);
    return parts[3] === String(n) && parts[2] === String.fromCharCode(97 + (version % 26)).repeat(n) ? version : null;
  }
  if (value instanceof Uint8Array && value.length >= 8) {
    const view = new DataView(value.buffer, value.byteOffset, value.length);
    const version = view.getInt32(0, true);
    const n = view.getInt32(4, true);
    if (version % 2 !== 1 || n !== lengthFor(key, version) || value.length !== 8 + n) return null;
    for (let i = 0; i < n; i++) if (value[8 + i] !== ((version + i) & 0xff)) return null;
    return version;
  }
  return null;
}
