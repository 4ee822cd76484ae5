import { compareOffsets } from '../commit/offsets.js';

/**
 * Where a fetched batch continues the partition's position, if it does.
 *
 * kafkajs builds each fetch from its own fetch position (`fetchedOffset`) and may hand a batch
 * to the handler after that position was replaced: one fetcher per broker feeds one queue, and a
 * fetcher rejoins the group from inside its fetch when a leader moves, while another broker's
 * fetch, built from the old positions, still comes back. A batch is only taken when it starts at
 * or before the position (nothing between the position and its first message was left out);
 * messages before the position were already handed off in this ownership and are skipped.
 *
 * Returns the index of the first message to hand off (`offsets.length` when the batch holds
 * nothing new), or `'gap'` when the batch was fetched from past the position: it does not
 * continue what was handed off, so it is dropped without resolving anything.
 */
export function continuationOf(
  position: string,
  fetchedOffset: string,
  offsets: ReadonlyArray<{ offset: string }>,
): number | 'gap' {
  if (compareOffsets(fetchedOffset, position) > 0) return 'gap';
  let first = 0;
  while (first < offsets.length && compareOffsets(offsets[first]!.offset, position) < 0) first += 1;
  return first;
}
