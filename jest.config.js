/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/projections', '<rootDir>/test'],
  testRegex: '\\.(spec|int-spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.(ts|js)$': swc },
  // slonik requires p-limit, which ships only as ES modules; jest on Node 20 loads CommonJS.
  // It may sit at the top of node_modules or nested under slonik's.
  transformIgnorePatterns: ['^(?!.*/node_modules/(p-limit|yocto-queue)/).*/node_modules/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/after-each-file.ts'],
  // Integration suites start databases and child processes; 2 workers match the CI machine.
  maxWorkers: 2,
  testTimeout: 60_000,
};
