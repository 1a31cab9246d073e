/**
 * Lets Node's event loop run: timers, sockets (a viewer's HTTP and WebSocket traffic),
 * signals. Awaiting a resolved promise is not enough: it only drains microtasks, and
 * tfjs's `await t.data()` on CPU backends resolves without ever reaching the loop.
 * Long computations on the main thread (an inline sampling job, a PPO or TRPO update)
 * call this between their pieces so a page stays responsive and Ctrl-C gets through.
 */
export function letEventLoopRun(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
