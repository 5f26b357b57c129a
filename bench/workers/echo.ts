/** The bench task module: returns its input (the cost measured is the pool's own). */
export default function echo(task: unknown): unknown {
  return task;
}
