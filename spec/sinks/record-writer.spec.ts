import { expect } from 'chai';
import { unacknowledgedPartitions } from '../../lib/sinks/record-writer.js';

describe('unacknowledgedPartitions', () => {
  it('names the partition of each record the answer lacks, by topic and partition, and nothing else', () => {
    const records = [{ topic: 'a' }, { topic: 'a' }, { topic: 'b' }, { topic: 'b' }, { topic: 'a' }];
    const missing = unacknowledgedPartitions(records, {
      partitions: [0, 1, 1, 2, undefined],
      acknowledged: [
        { topic: 'a', partition: 0 },
        { topic: 'a', partition: 2 },
        { topic: 'b', partition: 2 },
      ],
    });
    // a/1 and b/1 were not acknowledged (a/2 and b/1 differ by topic); where the client did not
    // tell the partition there is nothing to check.
    expect(missing).to.deep.equal([undefined, 1, 1, undefined, undefined]);
  });

  it('finds nothing missing when every partition written was acknowledged', () => {
    const missing = unacknowledgedPartitions([{ topic: 't' }, { topic: 't' }], {
      partitions: [3, 3],
      acknowledged: [{ topic: 't', partition: 3 }],
    });
    expect(missing).to.deep.equal([undefined, undefined]);
  });
});
