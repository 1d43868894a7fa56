// Generates src/gen from the committed OpenAPI document (`npm run generate`, or `make sdk`).
// OPENAPI_TS_INPUT / OPENAPI_TS_OUTPUT let the drift check generate elsewhere and compare.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: process.env.OPENAPI_TS_INPUT ?? '../../openapi/openapi.json',
  output: {
    path: process.env.OPENAPI_TS_OUTPUT ?? 'src/gen',
    // Node's ES modules need explicit extensions in relative imports.
    module: { extension: '.js' },
  },
  plugins: [
    '@hey-api/client-fetch',
    '@hey-api/typescript',
    '@hey-api/sdk',
  ],
});
