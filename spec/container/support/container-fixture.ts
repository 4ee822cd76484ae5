import type { Context } from 'mocha';
import { ignoreKafkajsNegativeTimeouts } from '../../../lib/kafka/negative-timeout-warning.js';
import { startEphemeralJvmBroker, type StartedBroker } from '../../../lib/broker/ephemeral-broker.js';
import { dockerfileBaseImage, provideBaseImage, type BaseImageSource } from './base-image.js';
import { hasPodman } from './engine.js';
import { buildImage, removeImagesUnusedBy } from './image-build.js';

/** The tag the README's `docker build -t myeventstream .` gives the service's image. */
export const SERVICE_IMAGE = 'myeventstream';

/** What the root hook set up, for the specs. */
export const containerRun: { baseImage?: BaseImageSource; broker?: StartedBroker } = {};

// The specs' own kafkajs clients raise the warning the service drops (see the module).
ignoreKafkajsNegativeTimeouts();

const log = (line: string) => console.log(`      ${line}`);

/**
 * Root hooks of `npm run test:container`: a container engine (else every check is skipped,
 * saying why), the Dockerfile's base image (pulled, or a stand-in made here when no registry
 * answers), the service's image built from the Dockerfile, and a real broker: KAFKA_BROKERS
 * when set, else a throw-away one started here while the image builds.
 */
export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(1_800_000);
    if (!hasPodman()) {
      log(
        'SKIPPED: no container engine: podman is not installed (.ci/run installs it with apt-get where it can)',
      );
      this.skip();
    }
    const external = process.env.KAFKA_BROKERS?.trim();
    const brokerStarted = Date.now();
    const broker: Promise<StartedBroker> = external
      ? Promise.resolve({ bootstrap: external, kind: 'external', stop: async () => undefined })
      : startEphemeralJvmBroker();
    // Stopped in afterAll even when the image fails to build.
    void broker.then((started) => (containerRun.broker = started)).catch(() => undefined);

    const base = dockerfileBaseImage();
    const baseStarted = Date.now();
    containerRun.baseImage = await provideBaseImage(base, log);
    log(
      {
        local: `base image ${base.reference}: the real one, already stored`,
        pulled: `base image ${base.reference}: pulled`,
        'stand-in': `base image ${base.reference}: a STAND-IN made here (no registry answered), not the official image`,
      }[containerRun.baseImage] + ` (${Date.now() - baseStarted} ms)`,
    );
    const buildStarted = Date.now();
    const buildOutput = await buildImage(SERVICE_IMAGE);
    log(`image ${SERVICE_IMAGE} built from the Dockerfile in ${Date.now() - buildStarted} ms`);
    const removed = await removeImagesUnusedBy(buildOutput);
    if (removed > 0) log(`removed ${removed} untagged image(s) left by earlier builds`);

    const started = await broker;
    process.env.KAFKA_BROKERS = started.bootstrap;
    log(
      `Kafka broker (${started.kind}) at ${started.bootstrap}, ready after ${Date.now() - brokerStarted} ms`,
    );
  },

  async afterAll(): Promise<void> {
    await containerRun.broker?.stop();
  },
};
