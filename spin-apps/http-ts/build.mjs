// Bundles src/index.ts into build/bundle.js for `j2w` (componentize-js);
// esbuild strips the types. The Spin plugin marks the WIT interfaces the
// dependencies declare (wasi:http, through @spinframework/wasi-http-proxy)
// as externals, which componentize-js binds to the component's imports.
import { build } from 'esbuild';
import { SpinEsbuildPlugin } from '@spinframework/build-tools/plugins/esbuild/index.js';

await build({
  entryPoints: ['./src/index.ts'],
  outfile: './build/bundle.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  sourcemap: true,
  minify: false,
  logLevel: 'error',
  loader: { '.ts': 'ts' },
  resolveExtensions: ['.ts', '.js'],
  plugins: [await SpinEsbuildPlugin()],
});
