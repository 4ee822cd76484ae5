import { expect } from 'chai';
import type { IHeaders } from 'kafkajs';
import type { MessageHeaders } from '../../lib/core/headers.js';

describe('MessageHeaders', () => {
  // The assignments are the test: `npm run lint` (tsc) fails if either direction stops compiling.
  it("takes kafkajs's IHeaders as they are, and hands them back to kafkajs without a copy", () => {
    const fetched: IHeaders = { trace: Buffer.from('t-1'), tags: ['a', Buffer.from('b')], absent: undefined };
    const headers: MessageHeaders = fetched;
    const written: IHeaders = headers;
    expect(written).to.equal(fetched);
    expect(written.tags).to.deep.equal(['a', Buffer.from('b')]);
  });
});
