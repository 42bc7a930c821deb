// Bundles src/ into build/bundle.js for `j2w` (componentize-js). The Spin
// plugin marks the WIT interfaces the dependencies declare (here
// wasi:http through @spinframework/wasi-http-proxy) as externals, which
// componentize-js then binds to the component's imports.
import { build } from 'esbuild';
import { SpinEsbuildPlugin } from '@spinframework/build-tools/plugins/esbuild/index.js';

await build({
  entryPoints: ['./src/index.js'],
  outfile: './build/bundle.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  sourcemap: true,
  minify: false,
  logLevel: 'error',
  plugins: [await SpinEsbuildPlugin()],
});
