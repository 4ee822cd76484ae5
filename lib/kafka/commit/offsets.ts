/**
 * Kafka offsets as the decimal strings kafkajs gives: they exceed 2^53, so no Number
 * arithmetic. Offsets compared here are never negative and carry no leading zeros, so a
 * longer string is a larger offset and equal lengths compare as text, without a BigInt.
 */
export function compareOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether offset `a` comes after offset `b`. */
export function offsetAfter(a: string, b: string): boolean {
  return compareOffsets(a, b) > 0;
}

/** The offset after `offset`: Kafka's "next offset to read" once `offset` was read. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}
