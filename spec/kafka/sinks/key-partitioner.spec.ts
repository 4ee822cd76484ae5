import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { defaultPartitioner, keyPartition, murmur2 } from '../../../lib/kafka/sinks/key-partitioner.js';

// kafkajs's own murmur2, the one its default partitioner hashes keys with.
const kafkajsMurmur2 = createRequire(import.meta.url)(
  'kafkajs/src/producer/partitioners/default/murmur2.js',
) as (key: Buffer | string) => number;

/** kafkajs's default partitioner over `count` partitions, all with a leader. */
function kafkajsPlacement(count: number) {
  const pick = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
  return (key: Buffer | string) =>
    pick({ topic: 't', partitionMetadata, message: { key, value: null } } as PartitionerArgs);
}

describe('murmur2', () => {
  it("gives the Java client's values (Kafka's UtilsTest)", () => {
    const java: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of java) expect(murmur2(Buffer.from(text)), text).to.equal(hash);
  });

  it("equals kafkajs's murmur2 on random bytes of every length up to 80, and on empty input", () => {
    for (let length = 0; length <= 80; length++) {
      for (let i = 0; i < 20; i++) {
        const data = randomBytes(length);
        expect(murmur2(data), data.toString('hex')).to.equal(kafkajsMurmur2(data));
      }
    }
  });
});

describe('keyPartition', () => {
  it("puts every key on the partition kafkajs's default partitioner picks, strings and bytes alike", () => {
    for (const count of [1, 2, 3, 6, 7, 12, 64, 1000]) {
      const kafkajs = kafkajsPlacement(count);
      for (let i = 0; i < 300; i++) {
        const text = `key-${i}-${randomBytes(4).toString('hex')}`;
        const bytes = randomBytes(1 + (i % 40));
        expect(keyPartition(text, count), `${text} of ${count}`).to.equal(kafkajs(text));
        expect(keyPartition(bytes, count), `${bytes.toString('hex')} of ${count}`).to.equal(kafkajs(bytes));
      }
    }
  });

  it('masks a negative hash to a positive one, as Java does, rather than taking it unsigned', () => {
    // murmur2('foobar') is negative: unsigned it would land elsewhere on most partition counts.
    const hash = murmur2(Buffer.from('foobar'));
    expect(hash).to.be.lessThan(0);
    expect(keyPartition('foobar', 7)).to.equal((hash & 0x7fffffff) % 7);
    expect(keyPartition('foobar', 7)).to.not.equal((hash >>> 0) % 7);
  });
});

describe('defaultPartitioner', () => {
  it('places keyed records by their key, whatever the leaders', () => {
    const place = defaultPartitioner();
    const kafkajs = kafkajsPlacement(6);
    for (const key of ['a', 'b', 'order-17', Buffer.from([0, 1, 2])]) {
      expect(place('t', key, [1, -1, 1, -1, 1, -1])).to.equal(kafkajs(key));
    }
  });

  it('spreads records without a key round robin over the partitions that have a leader, per topic', () => {
    const place = defaultPartitioner();
    const leaders = [1, -1, 2, 3, -1, 1];
    const picked = Array.from({ length: 40 }, () => place('t', null, leaders));
    expect(new Set(picked)).to.deep.equal(new Set([0, 2, 3, 5]));
    for (let i = 4; i < picked.length; i++) expect(picked[i], `pick ${i}`).to.equal(picked[i - 4]);
    // Another topic keeps its own turn.
    const other = Array.from({ length: 3 }, () => place('u', null, [1, 1, 1]));
    expect(new Set(other).size).to.equal(3);
  });

  it('still picks a partition when none has a leader', () => {
    const place = defaultPartitioner();
    const picked = place('t', null, [-1, -1, -1]);
    expect(picked).to.be.within(0, 2);
  });
});
