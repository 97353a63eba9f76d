import type { IncomingMessage, ServerResponse } from 'node:http';

/** Serves Prometheus text from `text` (the telemetry thread's, or this thread's pipeline). */
export function prometheusHandler(text: () => Promise<string>): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    text().then(
      (body) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(body);
      },
      (error: unknown) => {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(`# failed to collect metrics: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  };
}
