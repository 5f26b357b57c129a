/** The worker side of a Crew (bench/support/crew.ts): run a batch on each command until told to exit. */
export function serveBatches(control: SharedArrayBuffer, run: (size: number) => void): void {
  const c = new Int32Array(control);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, 0, seen);
    seen = Atomics.load(c, 0);
    const size = Atomics.load(c, 1);
    if (size < 0) return;
    run(size);
    Atomics.add(c, 2, 1);
    Atomics.notify(c, 2);
  }
}
