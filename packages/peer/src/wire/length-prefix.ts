// How every murmur stream protocol writes its messages: it-length-prefixed frames. The reader
// bounds what it accepts (maxDataLength on lp.decode, from the model dimension or the protocol);
// the writer adds no bound of its own, since it-length-prefixed's default would refuse anything
// over 4 MiB, i.e. every f32 model of a million parameters or more.

import * as lp from 'it-length-prefixed'

/** A pipe stage that length-prefixes each message, whatever its size. */
export function lengthPrefixed (messages: Iterable<Uint8Array>): Generator<Uint8Array, void, undefined> {
  return lp.encode(messages, { maxDataLength: Number.POSITIVE_INFINITY })
}

/**
 * Why reading a length-prefixed message failed: its prefix promised too much ('oversized'), the
 * prefix is no length ('malformed'), or the stream ended, was reset or cut off ('incomplete').
 */
export function readFailure (error: Error): 'oversized' | 'malformed' | 'incomplete' {
  switch (error.name) {
    case 'InvalidDataLengthError':
    case 'InvalidDataLengthLengthError':
      return 'oversized'
    case 'InvalidMessageLengthError':
      return 'malformed'
    default:
      return 'incomplete'
  }
}
