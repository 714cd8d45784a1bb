/**
 * The import rules of src/ (docs/architecture.md, "Layers"). `npm test` runs them through
 * `npm run lint:deps`; test/architecture/import-rules.test.ts shows that breaking one fails.
 *
 * One-way: core ← config ← adapters (store, github) ← deploy ← telegram, http ← main ← cli.
 */
const layer = (name) => `^src/${name}(/|\\.ts$)`;
const notTests = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-a-leaf',
      comment: 'src/core is pure rules: it imports nothing outside itself but node:crypto.',
      severity: 'error',
      from: { path: '^src/core/', pathNot: notTests },
      to: {
        pathNot: ['^src/core/', '^crypto$', '^node:crypto$'],
      },
    },
    {
      name: 'config-builds-on-core',
      comment: 'Configuration is parsed once, on top of core types; it knows no adapter or use case.',
      severity: 'error',
      from: { path: '^src/config(-file)?\\.ts$' },
      to: { path: '^src/(?!core/|config)' },
    },
    {
      name: 'store-is-an-adapter',
      comment: 'The store persists core records; it knows no other part.',
      severity: 'error',
      from: { path: layer('store'), pathNot: notTests },
      to: { path: '^src/(?!core/|store/)' },
    },
    {
      name: 'github-is-an-adapter',
      comment: 'GitHub calls and payloads only: deciding what they mean is deploy/.',
      severity: 'error',
      from: { path: layer('github'), pathNot: notTests },
      to: { path: '^src/(?!core/|github/|config\\.ts$)' },
    },
    {
      name: 'deploy-uses-adapters-not-transports',
      comment: 'Use cases sequence core rules and adapters; they never see Telegram or HTTP.',
      severity: 'error',
      from: { path: layer('deploy'), pathNot: notTests },
      to: { path: '^src/(telegram|http|operations)/|^src/(main|cli|metrics|logger)\\.ts$' },
    },
    {
      name: 'telegram-renders-use-cases',
      comment: 'Telegram calls use cases and renders their outcomes; it never calls GitHub.',
      severity: 'error',
      from: { path: layer('telegram'), pathNot: notTests },
      to: { path: '^src/(github|http|operations)/|^src/(main|cli)\\.ts$' },
    },
    {
      name: 'http-is-transport-only',
      comment: 'Routes verify and hand over; handlers are injected by main.ts.',
      severity: 'error',
      from: { path: layer('http'), pathNot: notTests },
      to: { path: '^src/(?!http/|metrics\\.ts$)' },
    },
    {
      name: 'only-cli-starts-the-service',
      comment: 'main.ts is wiring; only the CLI (and tests, the demo) start it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli\\.ts$' },
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'src-ships-alone',
      comment: 'src/ is what the image ships: no test helpers, fakes, demo or benchmarks.',
      severity: 'error',
      from: { path: '^src/', pathNot: notTests },
      to: { path: '^(test|demo|bench)/' },
    },
    {
      name: 'no-test-libraries-in-product-code',
      severity: 'error',
      from: { path: '^src/', pathNot: notTests },
      to: { path: 'node_modules/(vitest|@vitest|fast-check)/' },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // TypeScript 7 has no JavaScript API yet; swc parses the sources (type-only imports included).
    parser: 'swc',
    moduleSystems: ['es6'],
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|data)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
