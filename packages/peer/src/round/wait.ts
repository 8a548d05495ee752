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

/** What a wait cut short by its abort signal resolves with. */
export const ABORTED = Symbol('aborted')

/** Resolves with the promise's value, or ABORTED as soon as the signal fires. */
export function unlessAborted<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABORTED> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.resolve(ABORTED)
  return new Promise((resolve, reject) => {
    const onAbort = (): void => { resolve(ABORTED) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then((value) => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    }, (error: unknown) => {
      signal.removeEventListener('abort', onAbort)
      reject(error)
    })
  })
}

/** Waits ms, or less when the signal fires (the timer is cleared, so it never holds the process). */
export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) { resolve(); return }
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, Math.max(0, ms))
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Waits for `promise`, but no longer than `ms` or the signal; the timer is cleared either way. */
export async function atMost (promise: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<void> {
  const stop = new AbortController()
  const stopOn = signal === undefined ? stop.signal : AbortSignal.any([stop.signal, signal])
  try {
    await Promise.race([promise, sleep(ms, stopOn)])
  } finally {
    stop.abort()
  }
}
