// content-disposition 3 (required by @fastify/static, which serves the Swagger UI) is ESM-only.
// Node 20.19+ require()s it natively; jest's CommonJS module runtime cannot (and it wraps
// `module`'s own createRequire). So jest is handed the copy that Node's real loader gives, the
// same code production runs.
jest.mock('content-disposition', () =>
  process.getBuiltinModule('node:module').createRequire(__filename)('content-disposition'),
);
