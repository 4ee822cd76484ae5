import { Partitioners, type ICustomPartitioner, type Message } from 'kafkajs';

/**
 * kafkajs's default partitioner, remembering the partition it picks for each message object.
 *
 * kafkajs 2.2.4's send resolves without writing some messages when a partition's leader moves
 * during a retry onto a broker that already answered for other partitions of the same request
 * (producer/sendMessages.js skips brokers that have a response): the send succeeds and its
 * answer simply lacks that partition. Knowing each message's partition lets the batching
 * producer check the answer and fail, so retry, the messages of a missing partition.
 */
export function recordingPartitioner(): {
  createPartitioner: ICustomPartitioner;
  partitionOf(topic: string, message: object): number | undefined;
} {
  // Per topic: one message object may be written to several topics.
  const byTopic = new Map<string, WeakMap<object, number>>();
  return {
    createPartitioner: () => {
      const pick = Partitioners.DefaultPartitioner();
      return (args) => {
        const partition = pick(args);
        let partitions = byTopic.get(args.topic);
        if (!partitions) byTopic.set(args.topic, (partitions = new WeakMap()));
        partitions.set(args.message as Message, partition);
        return partition;
      };
    },
    partitionOf: (topic, message) => byTopic.get(topic)?.get(message),
  };
}
