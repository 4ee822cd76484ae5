import { expect } from 'chai';
import { randomName } from '../integration/support/kafka.js';
import { podman } from './support/engine.js';
import { buildOptions } from './support/image-build.js';
import {
  hasPodmanCompose,
  plannedContainers,
  podmanCompose,
  type PlannedContainer,
} from './support/compose.js';

/**
 * docker-compose.yml read by a compose implementation, Debian's podman-compose (1.0): it
 * resolves the file and prints the containers it would start (a dry run: the images of Kafka,
 * Prometheus and Grafana cannot be pulled where this runs), and builds the service's image
 * through the file's `build:`. Running the stack needs those images and is not done here.
 */
describe('docker-compose.yml, read by podman-compose', function () {
  const project = randomName('compose-check');
  const NETWORK = 'myeventstream-network';
  // The file will not be read without it (`${GRAFANA_ADMIN_PASSWORD:?…}`), whatever the command.
  const env = { GRAFANA_ADMIN_PASSWORD: 'compose-check' };
  let networkExisted = false;
  let planned: PlannedContainer[];

  before(async function () {
    if (!hasPodmanCompose()) {
      console.log('      SKIPPED: podman-compose is not installed (.ci/run installs it with apt-get)');
      this.skip();
    }
    networkExisted = (await podman(['network', 'exists', NETWORK])).code === 0;
    const dryRun = await podmanCompose(project, ['--dry-run', 'up', '--detach', '--no-build'], env);
    expect(dryRun.code, dryRun.stderr).to.equal(0);
    planned = plannedContainers(project, dryRun.stdout);
  });

  after(async () => {
    // Even a dry run of podman-compose 1.0 creates the named volumes and the network.
    for (const volume of ['kafka-data', 'nats-data', 'prometheus-data', 'grafana-data']) {
      await podman(['volume', 'rm', '--force', `${project}_${volume}`]);
    }
    if (!networkExisted) await podman(['network', 'rm', NETWORK]);
  });

  // podman-compose 1.0 ignores `profiles:`, so it plans the `nats` profile's two services too.
  const NATS_PROFILE = ['nats', 'myeventstream-nats'];

  it('starts the five services in the order of their dependencies', () => {
    const services = planned.map((container) => container.service);
    expect(services.filter((service) => !NATS_PROFILE.includes(service))).to.deep.equal([
      'kafka',
      'kafka-init',
      'myeventstream',
      'prometheus',
      'grafana',
    ]);
  });

  it("plans the nats profile's services with NATS before the service on it", () => {
    const services = planned.map((container) => container.service);
    expect(services.filter((service) => NATS_PROFILE.includes(service))).to.deep.equal(NATS_PROFILE);
    const service = planned.find((container) => container.service === 'myeventstream-nats')!.args.join(' ');
    expect(service).to.include('-e BROKER=nats');
    expect(service).to.include('-e NATS_URL=nats://nats:4222');
  });

  it('gives every container its environment with the variables substituted', () => {
    // podman-compose 1.0 passes `${NAME:-}` (an empty default) through as text, which a setting
    // such as a NATS subject would take as its value. (kafka-init's script keeps its own `${…}`.)
    for (const container of planned) {
      const environment = container.args.filter((_, index) => container.args[index - 1] === '-e');
      expect(
        environment.filter((entry) => entry.includes('${')),
        container.service,
      ).to.deep.equal([]);
    }
  });

  it('runs the service on the stack network against kafka:29092, metrics on 8080', () => {
    const service = planned.find((container) => container.service === 'myeventstream')!.args.join(' ');
    expect(service).to.include('-e KAFKA_BROKERS=kafka:29092');
    expect(service).to.include(`--net ${NETWORK}`);
    expect(service).to.include('-p 8080:8080');
    expect(service).to.include('--restart unless-stopped');
    expect(service).to.match(/ myeventstream:latest$/);
  });

  it('gives Kafka the health check the service depends on', () => {
    const kafka = planned.find((container) => container.service === 'kafka')!.args.join(' ');
    expect(kafka).to.include('--healthcheck-command');
    expect(kafka).to.include('kafka-broker-api-versions.sh --bootstrap-server kafka:29092');
  });

  it('refuses to start without GRAFANA_ADMIN_PASSWORD', async () => {
    const refused = await podmanCompose(project, ['--dry-run', 'up', '--detach', '--no-build'], {
      GRAFANA_ADMIN_PASSWORD: undefined,
    });
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include('set GRAFANA_ADMIN_PASSWORD');
  });

  it("builds the service's image through the file's build section", async () => {
    const options = buildOptions();
    try {
      const built = await podmanCompose(
        project,
        ['--podman-build-args', options.args.join(' '), 'build', 'myeventstream'],
        env,
      );
      // podman-compose 1.0 exits 0 whatever the build did: its own report of podman's exit counts.
      expect(built.stdout).to.match(/^podman build .* -t myeventstream:latest -f \.\/Dockerfile \.$/m);
      expect(built.stdout, built.stderr.slice(-2000)).to.match(
        /^Successfully tagged localhost\/myeventstream:latest\n.*\nexit code: 0$/m,
      );
    } finally {
      options.remove();
    }
  });
});
