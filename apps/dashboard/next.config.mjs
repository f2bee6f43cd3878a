import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** @type {import('next').NextConfig} */
const nextConfig = {
  // node_modules live at the monorepo root: trace and bundle from there.
  outputFileTracingRoot: workspaceRoot,
  turbopack: { root: workspaceRoot },
  // The live feed is Server-Sent Events; response compression would hold its chunks back.
  compress: false,
  poweredByHeader: false,
  // socket.io-client (the server side of the live feed) is required from node_modules at run time, not bundled.
  serverExternalPackages: ['socket.io-client'],
  reactStrictMode: true,
  // The compiled build: a server with only the node_modules it uses (dist/apps/dashboard, tools/build/dashboard-dist.mjs).
  output: 'standalone',
};

export default nextConfig;
