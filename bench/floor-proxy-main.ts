#!/usr/bin/env node
/** Entry of the overhead benchmark's "Node floor" target: `floor-proxy-main.js UPSTREAM_BASE_URL`. */
import type { AddressInfo } from 'node:net';
import { createFloorProxy } from './floor-proxy.js';

const upstream = process.argv[2];
if (upstream === undefined) {
  process.stderr.write('usage: floor-proxy-main.js UPSTREAM_BASE_URL\n');
  process.exit(2);
}
const server = createFloorProxy(upstream);
server.listen(0, '127.0.0.1', () => process.stderr.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
