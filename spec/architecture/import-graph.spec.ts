import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../lib/project-root.js';
import {
  describeCycle,
  importsUnder,
  reachableFrom,
  specifiersOf,
  unitCycles,
  type ImportEdge,
} from './support/import-graph.js';

/** The clients of a message broker: only the adapters (lib/kafka, lib/nats) use them. */
const BROKER_CLIENT = /^(kafkajs|@platformatic\/kafka|@nats-io\/[^/]+)(\/|$)/;

/**
 * What any broker shares, written against no broker client: the core (deliveries, errors,
 * backoff, settlement), the operators and the pipeline API users write pipelines with, the
 * message flow the service and the test driver run, the batching producer and dead-letter sink
 * every broker writes through, and what a pipeline imports of the package (`myeventstream`,
 * `myeventstream/testing`).
 */
const TRANSPORT_NEUTRAL = [
  'lib/core/',
  'lib/operators/',
  'lib/pipeline/',
  'lib/service/message-flow.ts',
  'lib/sinks/',
  'lib/index.ts',
  'lib/testing/',
];

const edge = (from: string, to: string): ImportEdge => ({ from, specifier: `./${to}`, to });

describe('the import graph of lib/', () => {
  describe('its reader (what the checks below stand on)', () => {
    it('finds static, type-only, re-exported, multi-line, side-effect and dynamic imports', () => {
      const source = [
        "import { a } from './a.js';",
        "import type { B } from '../b.js';",
        "export { c } from './c.js';",
        'import {',
        '  d,',
        "} from 'kafkajs';",
        "import './e.js';",
        "const f = await import('./f.js');",
        " * a comment that mentions import { g } from './g.js' is not an import",
      ].join('\n');
      expect(specifiersOf(source).sort()).to.deep.equal([
        '../b.js',
        './a.js',
        './c.js',
        './e.js',
        './f.js',
        'kafkajs',
      ]);
    });

    it('names a cycle between two folders with the imports that make it', () => {
      const cycles = unitCycles([
        edge('lib/operators/process.ts', 'lib/pipeline/delivery.ts'),
        edge('lib/pipeline/route-to.ts', 'lib/operators/process.ts'),
        edge('lib/pipeline/route-to.ts', 'lib/core/errors.ts'),
      ]);
      expect(cycles.map(describeCycle)).to.deep.equal([
        'operators, pipeline import each other: operators → pipeline → operators (lib/operators/process.ts imports ./lib/pipeline/delivery.ts; ' +
          'lib/pipeline/route-to.ts imports ./lib/operators/process.ts)',
      ]);
    });

    it('finds a cycle through three folders, and none in layers or inside one folder', () => {
      const three = unitCycles([
        edge('lib/config/load-config.ts', 'lib/kafka/connection-options.ts'),
        edge('lib/kafka/broker-check.ts', 'lib/main.ts'),
        edge('lib/main.ts', 'lib/config/schema.ts'),
      ]);
      expect(three.map((cycle) => cycle.units)).to.deep.equal([['config', 'kafka', 'main.ts', 'config']]);
      expect(three.map((cycle) => cycle.members)).to.deep.equal([['config', 'kafka', 'main.ts']]);
      const layers = unitCycles([
        edge('lib/main.ts', 'lib/kafka/kafka-service.ts'),
        edge('lib/kafka/kafka-service.ts', 'lib/core/delivery.ts'),
        edge('lib/main.ts', 'lib/core/errors.ts'),
        edge('lib/core/delivery.ts', 'lib/core/headers.ts'),
        edge('lib/core/headers.ts', 'lib/core/delivery.ts'),
      ]);
      expect(layers).to.deep.equal([]);
    });

    it('follows imports from an entry point, file by file', () => {
      const reached = reachableFrom(
        [
          edge('lib/main.ts', 'lib/service/a.ts'),
          edge('lib/service/a.ts', 'lib/core/b.ts'),
          edge('lib/dev-start.ts', 'lib/broker/c.ts'),
        ],
        'lib/main.ts',
      );
      expect([...reached].sort()).to.deep.equal(['lib/core/b.ts', 'lib/main.ts', 'lib/service/a.ts']);
    });
  });

  const edges = importsUnder(projectRoot(), 'lib');

  it('has no cycle between folders: each folder builds only on folders below it', () => {
    expect(unitCycles(edges).map(describeCycle)).to.deep.equal([]);
  });

  it('builds the core on nothing else of lib/: it is the bottom layer', () => {
    const outward = edges
      .filter((e) => e.from.startsWith('lib/core/') && e.to !== undefined && !e.to.startsWith('lib/core/'))
      .map((e) => `${e.from} imports ${e.specifier}`);
    expect(
      edges.filter((e) => e.from.startsWith('lib/core/')),
      'imports of lib/core',
    ).to.not.deep.equal([]);
    expect(outward).to.deep.equal([]);
  });

  it('keeps broker clients out of the core, the operators, the pipeline API, the message flow, the shared sinks and the package entries, and out of all they import', () => {
    const neutral = new Set(
      edges.map((e) => e.from).filter((file) => TRANSPORT_NEUTRAL.some((dir) => file.startsWith(dir))),
    );
    expect(neutral.size, 'files of the transport-neutral folders').to.be.greaterThan(10);
    const reached = new Set([...neutral].flatMap((file) => [...reachableFrom(edges, file)]));
    const offending = edges
      .filter((e) => reached.has(e.from) && BROKER_CLIENT.test(e.specifier))
      .map((e) => `${e.from} imports ${e.specifier}`);
    expect(offending).to.deep.equal([]);
  });

  it("keeps each broker's clients in its own adapter: Kafka's out of lib/nats and all it imports, NATS's out of lib/kafka", () => {
    const natsFiles = [...new Set(edges.map((e) => e.from))].filter((file) => file.startsWith('lib/nats/'));
    expect(natsFiles, 'files of lib/nats').to.not.deep.equal([]);
    const reached = new Set(natsFiles.flatMap((file) => [...reachableFrom(edges, file)]));
    const kafkaInNats = edges
      .filter((e) => reached.has(e.from) && /^(kafkajs|@platformatic\/kafka)(\/|$)/.test(e.specifier))
      .map((e) => `${e.from} imports ${e.specifier}`);
    const natsInKafka = edges
      .filter((e) => /^lib\/kafka\//.test(e.from) && /^@nats-io\//.test(e.specifier))
      .map((e) => `${e.from} imports ${e.specifier}`);
    expect([...kafkaInNats, ...natsInKafka]).to.deep.equal([]);
  });

  it('wires the message flow in one place: only lib/service/message-flow.ts calls handleMessage, runPipeline and deadLetterSink', () => {
    const wiring = /\b(handleMessage|runPipeline|deadLetterSink)\(/;
    const callers = [...new Set(edges.map((e) => e.from))].filter(
      (file) =>
        !/\/(handle-message|pipeline-runner|dead-letter-sink)\.ts$/.test(file) &&
        readFileSync(join(projectRoot(), file), 'utf8')
          .split('\n')
          .some((line) => wiring.test(line) && !/^\s*(\*|\/\/)/.test(line)),
    );
    expect(callers).to.deep.equal(['lib/service/message-flow.ts']);
  });

  for (const [entry, loads] of [
    ['lib/main.ts', 'lib/kafka/kafka-service.ts'],
    ['lib/cli/main.ts', 'lib/cli/settings.ts'],
  ] as const) {
    it(`keeps the local test broker (lib/broker) out of what the production entry ${entry} loads`, () => {
      const reached = [...reachableFrom(edges, entry)];
      expect(reached, `files ${entry} loads`).to.include(loads);
      expect(reached.filter((file) => file.startsWith('lib/broker/'))).to.deep.equal([]);
    });
  }

  it("reaches the local test broker from npm start's entry, lib/dev-start.ts, which the checks above leave out", () => {
    expect([...reachableFrom(edges, 'lib/dev-start.ts')]).to.include('lib/broker/local-broker.ts');
  });
});
