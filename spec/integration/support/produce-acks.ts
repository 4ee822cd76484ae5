import { Socket } from 'node:net';

const PRODUCE = 0;
/** Produce requests from this version on have a flexible header and compact strings. */
const FIRST_FLEXIBLE_PRODUCE = 9;

/**
 * The acks field of every Produce request this process writes to a socket while `during`
 * runs, read from the bytes on their way to the broker. Both clients write each request with
 * one socket write, which this relies on.
 */
export async function produceAcksDuring(during: () => Promise<void>): Promise<number[]> {
  const acks: number[] = [];
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (Buffer.isBuffer(chunk)) {
      const seen = produceAcks(chunk);
      if (seen !== undefined) acks.push(seen);
    }
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof write;
  try {
    await during();
  } finally {
    Socket.prototype.write = write;
  }
  return acks;
}

/** Request => size api_key api_version correlation_id client_id [tags] transactional_id acks ... */
function produceAcks(request: Buffer): number | undefined {
  if (request.length < 16 || request.readInt16BE(4) !== PRODUCE) return undefined;
  const version = request.readInt16BE(6);
  let at = 12;
  const clientId = request.readInt16BE(at);
  at += 2 + Math.max(clientId, 0);
  const flexible = version >= FIRST_FLEXIBLE_PRODUCE;
  if (flexible) at = skipTaggedFields(request, at);
  if (flexible) {
    const [length, next] = unsignedVarInt(request, at);
    at = next + Math.max(length - 1, 0);
  } else {
    const length = request.readInt16BE(at);
    at += 2 + Math.max(length, 0);
  }
  return request.readInt16BE(at);
}

function skipTaggedFields(buffer: Buffer, at: number): number {
  let [count, next] = unsignedVarInt(buffer, at);
  for (; count > 0; count--) {
    const [, afterTag] = unsignedVarInt(buffer, next);
    const [size, afterSize] = unsignedVarInt(buffer, afterTag);
    next = afterSize + size;
  }
  return next;
}

function unsignedVarInt(buffer: Buffer, at: number): [number, number] {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = buffer[at++]!;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, at];
  }
}
