import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { folderLayersRule } from './scripts/folder-layers-rule.ts';

/** The clients of a message broker: only the broker adapters import them. */
const BROKER_CLIENTS = {
  group: ['kafkajs', '@platformatic/kafka', '@platformatic/kafka/*', '@nats-io/*'],
  message: 'Broker clients belong in the adapters (lib/kafka, lib/nats), not in what every broker shares.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', '.kafka/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    // Plain JavaScript files (pipeline fixtures, examples) run on Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', setTimeout: 'readonly', console: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // No two folders of lib/ import each other: each imports only the layers below its own.
    files: ['lib/**/*.ts'],
    plugins: { myeventstream: { rules: { 'folder-layers': folderLayersRule } } },
    rules: { 'myeventstream/folder-layers': 'error' },
  },
  {
    // What every broker shares names no broker client. spec/architecture checks what these
    // files import indirectly too, and that no two folders of lib/ import each other.
    files: [
      'lib/core/**/*.ts',
      'lib/operators/**/*.ts',
      'lib/pipeline/**/*.ts',
      'lib/service/message-flow.ts',
      'lib/sinks/**/*.ts',
      'lib/index.ts',
      'lib/testing/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [BROKER_CLIENTS] }] },
  },
  {
    files: ['lib/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            BROKER_CLIENTS,
            { group: ['../*'], message: 'lib/core is the bottom layer: it imports nothing else of lib/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/nats/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['kafkajs', '@platformatic/kafka', '@platformatic/kafka/*'],
              message: 'The NATS adapter names no Kafka client: shared types are in lib/core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/main.ts', 'lib/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['./broker/*', '../broker/*'],
              message:
                'lib/broker runs a JVM broker for development: only npm start (lib/dev-start.ts) loads it.',
            },
          ],
        },
      ],
    },
  },
);
