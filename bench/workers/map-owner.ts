/**
 * A bench worker that owns a plain Map and answers lookups by message: the usual alternative to
 * shared memory. It answers plain postMessage requests on its parent port, and comlink calls on a
 * MessagePort it is given.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const map = new Map<string, string>();
for (let i = 0; i < (workerData as { keys: number }).keys; i++) map.set(`key:${i}`, `value:${i}`);

parentPort!.on('message', (message: { id: number; key: string; value?: string } | { comlink: MessagePort }) => {
  if ('comlink' in message) {
    Comlink.expose({ get: (key: string) => map.get(key), set: (key: string, value: string) => void map.set(key, value) }, nodeEndpoint(message.comlink));
    return;
  }
  if (message.value !== undefined) map.set(message.key, message.value);
  parentPort!.postMessage({ id: message.id, value: message.value === undefined ? map.get(message.key) : true });
});
