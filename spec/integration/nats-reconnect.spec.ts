import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import type { NatsEventService } from '../../lib/nats/nats-service.js';
import { defaultPipeline } from '../../lib/pipeline/default-pipeline.js';
import {
  consumerInfo,
  createTestStreams,
  eventually,
  messageCount,
  natsService,
  publishAll,
  readSubject,
} from './support/nats.js';
import { startTestNatsServer, type TestNatsServer } from '../support/nats-server.js';

describe('the service on NATS while its server restarts', function () {
  this.timeout(90_000);
  let server: TestNatsServer | undefined;
  const connections: NatsConnection[] = [];
  let service: NatsEventService | undefined;

  afterEach(async () => {
    await service?.stop().catch(() => undefined);
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
    await server?.stop();
  });

  it('reports the lost connection on /readyz, reconnects, and settles what was published across the restart', async () => {
    server = await startTestNatsServer();
    const { url } = server;
    const connectNow = async () => {
      for (let i = 0; ; i++) {
        try {
          const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
          connections.push(nc);
          return nc;
        } catch (error) {
          if (i > 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const admin = await connectNow();
    const jsm = await jetstreamManager(admin);
    const s = await createTestStreams(jsm);
    service = natsService(await connectNow(), defaultPipeline, s);
    await service.start();
    const ids = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => JSON.stringify({ Id: `id-${from + i}` }));
    await publishAll(admin, s.subject, ids(0, 20));
    await eventually('the first ones forwarded', async () => (await messageCount(jsm, s.output)) === 20);

    await server.halt();
    await eventually('readiness naming the lost connection', () =>
      service!.readiness.readiness().reasons.includes('consumer: NATS connection lost, reconnecting'),
    );

    await server.restart();
    await eventually('reconnected', () => service!.readiness.readiness().ready, 30_000);
    // The connection is back before JetStream answers again: publish once the stream does.
    await eventually(
      'JetStream answering',
      () =>
        jsm.streams.info(s.stream).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    await publishAll(admin, s.subject, ids(20, 40));
    await eventually(
      'the later ones forwarded',
      async () => (await messageCount(jsm, s.output)) === 40,
      30_000,
    );
    await eventually('nothing left unacked', async () => {
      const info = await consumerInfo(jsm, s);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    const values = (await readSubject(jsm, s.output)).map((m) => m.value);
    expect(values).to.have.members(ids(0, 40));
  });
});
