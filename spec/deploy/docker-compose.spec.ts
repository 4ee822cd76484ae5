import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SETTINGS } from '../../lib/config/schema.js';
import { projectRoot } from '../../lib/project-root.js';

interface ComposeService {
  image?: string;
  profiles?: string[];
  command?: string[];
  build?: unknown;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  networks?: string[];
}

const compose = parse(readFileSync(join(projectRoot(), 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
  networks: Record<string, { name?: string }>;
};

describe('docker-compose.yml (static checks; npm run test:container reads it with podman-compose)', () => {
  it('passes the service only variables its configuration knows', () => {
    const known = new Set([...SETTINGS.values()].map((setting) => setting.env));
    const passed = Object.keys(compose.services.myeventstream!.environment ?? {});
    expect(passed.length).to.be.greaterThan(5);
    expect(passed.filter((name) => !known.has(name))).to.deep.equal([]);
  });

  it('pins every image to a version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue;
      expect(service.image, name).to.match(/^[\w./-]+:[\w.-]+$/);
      expect(service.image, name).not.to.match(/:latest$/);
    }
  });

  it('runs Kafka 3.9 in KRaft mode with a listener for containers and one for the host', () => {
    const kafka = compose.services.kafka!;
    expect(kafka.image).to.match(/^apache\/kafka:3\.9\.\d+$/);
    expect(kafka.environment?.KAFKA_PROCESS_ROLES).to.equal('broker,controller');
    expect(String(kafka.environment?.KAFKA_ADVERTISED_LISTENERS))
      .to.include('kafka:29092')
      .and.include('localhost:9092');
    expect(compose.services.myeventstream!.environment?.KAFKA_BROKERS).to.equal('kafka:29092');
  });

  it('creates the topics in a job and starts the service once Kafka is healthy and the topics exist', () => {
    const dependsOn = compose.services.myeventstream!.depends_on!;
    expect(dependsOn.kafka?.condition).to.equal('service_healthy');
    expect(dependsOn['kafka-init']?.condition).to.equal('service_completed_successfully');
    const init = JSON.stringify(compose.services['kafka-init']);
    for (const variable of ['KAFKA_TOPIC', 'DLQ_TOPIC', 'OUTPUT_TOPIC']) expect(init).to.include(variable);
  });

  it('keeps data in named volumes on one named network, with Grafana credentials from the environment', () => {
    expect(Object.keys(compose.volumes).sort()).to.deep.equal([
      'grafana-data',
      'kafka-data',
      'nats-data',
      'prometheus-data',
    ]);
    expect(compose.networks['myeventstream-network']?.name).to.equal('myeventstream-network');
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.networks, name).to.deep.equal(['myeventstream-network']);
    }
    const grafana = compose.services.grafana!.environment!;
    expect(String(grafana.GF_SECURITY_ADMIN_USER)).to.match(/^\$\{GRAFANA_ADMIN_USER/);
    expect(String(grafana.GF_SECURITY_ADMIN_PASSWORD)).to.match(/^\$\{GRAFANA_ADMIN_PASSWORD/);
  });

  it('runs the service on NATS JetStream in the optional nats profile only', () => {
    const nats = compose.services.nats!;
    const service = compose.services['myeventstream-nats']!;
    expect(nats.profiles).to.deep.equal(['nats']);
    expect(service.profiles).to.deep.equal(['nats']);
    expect(nats.command).to.include('-js');
    const known = new Set([...SETTINGS.values()].map((setting) => setting.env));
    const passed = Object.keys(service.environment ?? {});
    expect(passed.filter((name) => !known.has(name))).to.deep.equal([]);
    expect(service.environment).to.include({
      BROKER: 'nats',
      NATS_URL: 'nats://nats:4222',
      CREATE_TOPICS: 'true',
    });
    const withoutProfile = Object.entries(compose.services).filter(([, s]) => !s.profiles);
    expect(withoutProfile.map(([name]) => name)).to.not.include.members(['nats', 'myeventstream-nats']);
  });
});
