import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Server as GrpcServer, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';

/** One OTLP/HTTP export received. */
export interface OtlpExport {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A real OTLP/HTTP receiver on 127.0.0.1: it accepts every export, or hangs them when `hang` is set. */
export interface OtlpReceiver {
  readonly url: string;
  readonly exports: OtlpExport[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(options: { hang?: boolean; status?: number } = {}): Promise<OtlpReceiver> {
  const exports: OtlpExport[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      if (options.hang) return; // accept the request, never answer
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(options.status ?? 200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The OTLP collector services' one method each (opentelemetry-proto, collector/*/v1/*_service.proto).
const GRPC_SERVICES = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/**
 * A real OTLP/gRPC receiver on 127.0.0.1 (@grpc/grpc-js, HTTP/2): it accepts every export and keeps
 * the protobuf request as bytes (read them with {@link protobufStrings}), under the method's path
 * (`/opentelemetry.proto.collector.trace.v1.TraceService/Export`, …), with content type
 * `application/grpc`. An empty reply is a valid Export*ServiceResponse.
 */
export async function startOtlpGrpcReceiver(): Promise<OtlpReceiver> {
  const exports: OtlpExport[] = [];
  const server = new GrpcServer();
  const raw = (b: Buffer): Buffer => b;
  for (const path of Object.values(GRPC_SERVICES)) {
    const service: ServiceDefinition = {
      Export: { path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
    };
    server.addService(service, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => {
        exports.push({ path, contentType: 'application/grpc', body: call.request });
        done(null, Buffer.alloc(0));
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    close: async () => {
      server.forceShutdown();
    },
  };
}

function varint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++];
    if (byte === undefined) throw new RangeError('truncated varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

/**
 * Every string in a protobuf message, found by walking the wire format (nested messages are
 * tried recursively). Enough to see which span names, attribute keys and values an OTLP protobuf
 * export carries, without the .proto files.
 */
export function protobufStrings(buf: Buffer, out: Set<string> = new Set()): Set<string> {
  let pos = 0;
  try {
    while (pos < buf.length) {
      const [key, next] = varint(buf, pos);
      pos = next;
      const wire = Number(key & 7n);
      if (wire === 0) pos = varint(buf, pos)[1];
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const [len, start] = varint(buf, pos);
        const end = start + Number(len);
        if (end > buf.length) throw new RangeError('truncated');
        const slice = buf.subarray(start, end);
        const text = slice.toString('utf8');
        if (!text.includes('\ufffd') && /^[\x20-\x7e\u00a0-\uffff]*$/.test(text)) out.add(text);
        protobufStrings(slice, out);
        pos = end;
      } else throw new RangeError('bad wire type');
    }
  } catch {
    // Not a message (a plain string or bytes): what was found so far stands.
  }
  return out;
}
