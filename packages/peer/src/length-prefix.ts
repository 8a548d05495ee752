// How every murmur stream protocol writes its messages: it-length-prefixed frames. The reader
// bounds what it accepts (maxDataLength on lp.decode, from the model dimension or the protocol);
// the writer adds no bound of its own, since it-length-prefixed's default would refuse anything
// over 4 MiB, i.e. every f32 model of a million parameters or more.

import * as lp from 'it-length-prefixed'

/** A pipe stage that length-prefixes each message, whatever its size. */
export function lengthPrefixed (messages: Iterable<Uint8Array>): Generator<Uint8Array, void, undefined> {
  return lp.encode(messages, { maxDataLength: Number.POSITIVE_INFINITY })
}
