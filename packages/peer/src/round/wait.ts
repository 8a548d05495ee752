/** A wait on a round that something else ends by calling `wake`. */
export interface RoundWaiter {
  round: number
  wake: () => void
}

/**
 * Waits until a waiter added to `waiters` is woken, `deadline` (ms since the epoch) passes, or
 * `signal` aborts, whichever comes first; the waiter removes itself either way.
 */
export async function waitForRound (waiters: Set<RoundWaiter>, round: number, deadline: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const waiter: RoundWaiter = {
      round,
      wake: () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', waiter.wake)
        waiters.delete(waiter)
        resolve()
      }
    }
    const timer = setTimeout(waiter.wake, Math.max(0, deadline - Date.now()))
    signal?.addEventListener('abort', waiter.wake, { once: true })
    waiters.add(waiter)
  })
}
