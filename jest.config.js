/** Two projects: unit specs beside the code, e2e specs under test/ over real HTTP. */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
};
const common = { testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'], transform };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '\\.spec\\.ts$' },
    { ...common, displayName: 'e2e', rootDir: 'test', testRegex: '\\.e2e-spec\\.ts$' },
  ],
};
