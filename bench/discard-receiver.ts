import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { countOtlpSpans, type SpanCounts } from './otlp-span-count.js';

/** The benchmarks' collector: accepts and discards every OTLP/HTTP export, counting the spans of protobuf trace exports. */
export interface DiscardReceiver extends Server {
  readonly url: string;
  /** Spans received, by `kind name` (see `spanKey`). */
  readonly spans: SpanCounts;
  /** Trace export bodies that could not be read (not protobuf, or malformed): counted, never thrown. */
  readonly unreadable: number;
}

/** A local OTLP/HTTP receiver that accepts and discards everything, and counts the spans it was sent. */
export async function discardReceiver(): Promise<DiscardReceiver> {
  const spans: SpanCounts = new Map();
  let unreadable = 0;
  const server = createServer((req, res) => {
    const traces = req.url === '/v1/traces' && (req.headers['content-type'] ?? '').includes('protobuf');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      if (traces) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (traces) {
        try {
          const body = Buffer.concat(chunks);
          countOtlpSpans(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body, spans);
        } catch {
          unreadable++;
        }
      }
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.defineProperty(server, 'unreadable', { get: () => unreadable });
  return Object.assign(server as Server & { readonly unreadable: number }, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans });
}
