import { expect } from 'chai';
import { serviceNodeFlags } from '../../loadtest/service-process.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';

const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
/** What the build context leaves out: .dockerignore's entries (plain names and globs). */
const ignored = readFileSync(join(projectRoot(), '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

const dockerfile = readFileSync(join(projectRoot(), 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const of = (keyword: string) => instructions.filter((line) => line.startsWith(`${keyword} `));

describe('Dockerfile (static checks; npm run test:container builds and runs the image)', () => {
  it('builds in two stages and runs from a slim Node.js LTS image pinned by version', () => {
    const from = of('FROM');
    expect(from).to.have.length(2);
    for (const line of from) expect(line).to.match(/^FROM node:(2[02468])\.\d+\.\d+-\w+-slim\b/);
  });

  it('installs production dependencies only and ships compiled JavaScript, not TypeScript', () => {
    const runtime = instructions.slice(instructions.lastIndexOf(of('FROM')[1]!));
    expect(runtime.join('\n')).to.include('npm ci --omit=dev');
    const copies = runtime.filter((line) => line.startsWith('COPY '));
    expect(copies).to.include('COPY --from=build /app/dist/lib ./dist/lib');
    // Besides the compiled code only manifests and configuration: no TypeScript sources.
    const others = copies.filter((line) => !line.startsWith('COPY --from=build'));
    expect(
      others.every((line) => /^COPY (package(-lock)?\.json ?)+\.\/$|^COPY config \.\/config$/.test(line)),
      others.join('; '),
    ).to.equal(true);
    expect(of('CMD')[0]).to.include('dist/lib/main.js');
  });

  it('runs the service with the Node.js flags of npm start, which the benchmark uses too', () => {
    const cmd = JSON.parse(of('CMD').at(-1)!.replace(/^CMD /, '')) as string[];
    expect(cmd[0]).to.equal('node');
    expect(cmd.slice(1, -1)).to.deep.equal(serviceNodeFlags());
    expect(serviceNodeFlags()).to.include('--max-semi-space-size=64');
  });

  it('runs as a non-root user, exposes 8080 and checks /healthz', () => {
    expect(of('USER').at(-1)).to.match(/^USER (?!root\b)\w+/);
    expect(of('EXPOSE')).to.deep.equal(['EXPOSE 8080']);
    expect(of('HEALTHCHECK')[0]).to.include('/healthz');
    expect(of('STOPSIGNAL')).to.deep.equal(['STOPSIGNAL SIGTERM']);
  });

  it('is described by the README as it is: its number of stages', () => {
    const words = ['none', 'one', 'two', 'three', 'four'];
    expect(readme).to.include(`The \`Dockerfile\` builds in ${words[of('FROM').length]} stage`);
  });

  it('is described by the README as it is: the base image it pins', () => {
    const bases = new Set(of('FROM').map((line) => line.split(/\s+/)[1]));
    expect(bases.size).to.equal(1);
    const [base] = [...bases] as [string];
    expect(readme).to.include(`both \`FROM ${base}\``);
  });

  it('is built and run by npm run test:container, as the README says', () => {
    const { scripts } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts['test:container']).to.include('spec/container/');
    expect(readme).to.include('`npm run test:container` (the last step of `.ci/run`) builds the image');
    expect(readFileSync(join(projectRoot(), '.ci', 'run'), 'utf8').trimEnd()).to.match(
      /\nnpm run test:container$/,
    );
  });

  it('leaves out no file the README copies into an image', () => {
    // e.g. `COPY dist/pipelines ./pipelines` fails: .dockerignore leaves out dist.
    const copied = readme
      .split('\n')
      .filter((line) => line.startsWith('COPY ') && !line.startsWith('COPY --from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(copied).to.not.deep.equal([]);
    for (const source of copied) {
      const first = source.replace(/^\.\//, '').split('/')[0]!;
      const match = ignored.find((pattern) =>
        pattern.startsWith('*') ? first.endsWith(pattern.slice(1)) : first === pattern,
      );
      expect(match, `README copies ${source}, which .dockerignore leaves out`).to.equal(undefined);
    }
  });
});
