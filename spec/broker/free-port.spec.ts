import { expect } from 'chai';
import { createServer } from 'node:net';
import { freePort, freePorts } from '../../lib/broker/free-port.js';

describe('freePorts', () => {
  it('hands out distinct ports, however many are asked for at once', async () => {
    const ports = await freePorts(64);
    expect(ports).to.have.length(64);
    expect(new Set(ports).size).to.equal(64);
  });

  it('hands out ports that can be listened on once it returns', async () => {
    const [port] = await freePorts(1);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives one such port through freePort', async () => {
    const port = await freePort();
    expect(port).to.be.within(1, 65535);
  });
});
