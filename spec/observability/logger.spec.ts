import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger, type LogLevel } from '../../lib/observability/logger.js';

function capture(level: LogLevel = 'info') {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  return { logger: createLogger({ level, serviceName: 'svc', stream }), lines };
}

// The stream transport writes synchronously, but let 'data' events drain first.
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('createLogger', () => {
  it('writes one JSON line per entry with timestamp, level, message, service and the context', async () => {
    const { logger, lines } = capture();
    logger.warn('DLQ write failed, retrying', { topic: 'orders', partition: 3, offset: '42', code: 'X' });
    await flush();
    expect(lines).to.have.length(1);
    const line = lines[0]!;
    expect(line).to.include({
      level: 'warn',
      message: 'DLQ write failed, retrying',
      service: 'svc',
      topic: 'orders',
      partition: 3,
      offset: '42',
      code: 'X',
    });
    expect(new Date(line.timestamp as string).toISOString()).to.equal(line.timestamp);
    expect(Object.keys(line).slice(0, 4)).to.deep.equal(['timestamp', 'level', 'message', 'service']);
  });

  it('serializes errors in fields with message, stack and cause instead of {}', async () => {
    const { logger, lines } = capture();
    const cause = new Error('socket closed');
    const error = Object.assign(new Error('write failed', { cause }), { code: 'OUTPUT_WRITE_FAILED' });
    logger.error('giving up', { error });
    await flush();
    const logged = lines[0]!.error as Record<string, unknown>;
    expect(logged).to.include({ name: 'Error', message: 'write failed', code: 'OUTPUT_WRITE_FAILED' });
    expect(logged.stack).to.be.a('string').and.include('write failed');
    expect(logged.cause).to.include({ message: 'socket closed' });
  });

  it('logs an Error passed as the entry itself with its stack', async () => {
    const { logger, lines } = capture();
    logger.error(new Error('boom'));
    await flush();
    expect(lines[0]).to.include({ level: 'error', message: 'boom' });
    expect(lines[0]!.stack).to.be.a('string').and.include('boom');
  });

  it('hides entries below the level', async () => {
    const { logger, lines } = capture('info');
    logger.debug('noise');
    logger.info('kept');
    await flush();
    expect(lines.map((l) => l.message)).to.deep.equal(['kept']);
  });

  it('namespaces a child logger with its component', async () => {
    const { logger, lines } = capture();
    logger.child({ component: 'committer' }).info('committed', { partition: 1 });
    await flush();
    expect(lines[0]).to.include({
      service: 'svc',
      component: 'committer',
      message: 'committed',
      partition: 1,
    });
  });
});
