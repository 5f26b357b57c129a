// comlink ships its Node adapter as dist/esm/node-adapter.mjs with types next to it under a
// name TypeScript's NodeNext resolution does not pick up; this states the same signature.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export interface NodeEndpoint {
    postMessage(message: any, transfer?: any): void;
    on(type: string, listener: (value: any) => void): unknown;
    off(type: string, listener: (value: any) => void): unknown;
    start?: () => void;
  }
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
