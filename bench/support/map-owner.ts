/**
 * The usual alternative to shared memory: a Map owned by one thread (workers/map-owner.ts),
 * asked by request/response over postMessage (one request at a time, or pipelined: many in
 * flight), or through comlink on a port of its own.
 */
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

export class MapOwner {
  readonly worker: Worker;
  readonly #pending = new Map<number, (value: unknown) => void>();
  #id = 0;
  readonly remote: Comlink.Remote<{ get(key: string): string | undefined; set(key: string, value: string): void }>;

  /** Starts the owner thread with `keys` entries `key:N` → `value:N`. */
  constructor(keys: number) {
    this.worker = new Worker(new URL('../workers/map-owner.js', import.meta.url), { workerData: { keys } });
    this.worker.on('message', ({ id, value }: { id: number; value: unknown }) => {
      this.#pending.get(id)?.(value);
      this.#pending.delete(id);
    });
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ comlink: port2 }, [port2]);
    this.remote = Comlink.wrap(nodeEndpoint(port1 as never));
  }

  /**
   * Requests all at once, every one in flight before the first answer is awaited: how a user
   * who keeps a Map in an owner thread batches (pipelines) requests. Resolves to the answers in
   * order.
   */
  pipeline(requests: ReadonlyArray<readonly [key: string, value?: string | undefined]>): Promise<unknown[]> {
    return Promise.all(requests.map(([key, value]) => this.request(key, value)));
  }

  /** One round trip: a get, or a set when `value` is given. */
  request(key: string, value?: string | undefined): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.worker.postMessage({ id, key, value });
    });
  }

  async close(): Promise<void> {
    this.remote[Comlink.releaseProxy]();
    await this.worker.terminate();
  }
}
