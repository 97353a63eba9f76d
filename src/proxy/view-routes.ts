import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AccessKey } from './access-key.js';
import type { LiveFeed } from './live-feed.js';
import { errorBody } from './proxy-error.js';

/** The request store's JSON API: `path` after `/modeltap/api/`, the raw query string. */
export type StoreApi = (path: string, query: string) => Promise<{ readonly status: number; readonly body: unknown }>;

/** What the view is served from. */
export interface ViewOptions {
  readonly storeApi: StoreApi;
  /** The push behind `/modeltap/api/live`; without it the view is of a stored database (`modeltap view`). */
  readonly live?: LiveFeed;
  /** A trace's link, with `{trace_id}` where its id goes (`--trace-url`). Default: no link. */
  readonly traceUrl?: string;
}

/** Whether a path is the view's or its API's (the paths a browser's key cookie admits). */
export function isViewPath(path: string): boolean {
  return path === '/' || path.startsWith('/modeltap/view/') || path.startsWith('/modeltap/api/');
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const TYPES: Readonly<Record<string, string>> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8' };

/** The package's root: `src/proxy` and `dist/proxy` are both two levels below it. */
const root = new URL('../../', import.meta.url);

let assets: Map<string, Asset> | undefined;

/**
 * The view's files, read once: its compiled scripts (`dist/view`, from `view/src`), its page and
 * style (`view/static`), and uPlot's ES module and style from its npm package (no CDN: the view
 * works offline). Throws when the view was not built.
 */
function loadAssets(): Map<string, Asset> {
  if (assets !== undefined) return assets;
  const out = new Map<string, Asset>();
  const add = (name: string, path: string): void => {
    out.set(name, { type: TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream', body: readFileSync(path) });
  };
  for (const dir of ['dist/view', 'view/static']) {
    const path = fileURLToPath(new URL(dir, root));
    for (const name of readdirSync(path)) if (/\.(js|css|html)$/.test(name)) add(name, `${path}/${name}`);
  }
  const require = createRequire(import.meta.url);
  add('uPlot.esm.js', require.resolve('uplot/dist/uPlot.esm.js'));
  add('uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'));
  assets = out;
  return out;
}

/** Only the view's own scripts and styles run; its data comes from its own origin. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const escapeAttribute = (text: string): string => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function sendError(res: ServerResponse, status: 400 | 401 | 404 | 405 | 503, code: string, message: string): void {
  const body = errorBody(status, code, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendAsset(res: ServerResponse, asset: Asset, body: Buffer | string = asset.body): void {
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': Buffer.byteLength(body),
    // Revalidated on every load: a page must never run scripts of an older modeltap.
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}

/**
 * Serves the live view: `/` (its page), `/modeltap/view/*` (its scripts and styles),
 * `/modeltap/api/live` (the push, see {@link LiveFeed}) and `/modeltap/api/*` (the store's JSON
 * API). The caller has checked the access key.
 */
export function serveView(req: IncomingMessage, res: ServerResponse, path: string, query: string, options: ViewOptions): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
    return;
  }
  if (path === '/modeltap/api/live') {
    if (options.live === undefined) {
      sendError(res, 404, 'not_live', 'this view is of a stored database: nothing arrives live');
      return;
    }
    const after = new URLSearchParams(query).get('after');
    options.live.serve(res, after === null || !/^\d+$/.test(after) ? undefined : Number(after));
    return;
  }
  if (path.startsWith('/modeltap/api/')) {
    options.storeApi(path.slice('/modeltap/api/'.length), query).then(
      (answer) => {
        const body = JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(body);
      },
      (error: unknown) => sendError(res, 503, 'store_unavailable', `the request store did not answer: ${error instanceof Error ? error.message : String(error)}`),
    );
    return;
  }
  let files: Map<string, Asset>;
  try {
    files = loadAssets();
  } catch (error) {
    sendError(res, 503, 'view_not_built', `the view's files are missing (run npm run build): ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  if (path === '/') {
    const page = files.get('index.html');
    if (page === undefined) {
      sendError(res, 503, 'view_not_built', "the view's page is missing");
      return;
    }
    const html = page.body
      .toString('utf8')
      .replace('%TRACE_URL%', escapeAttribute(options.traceUrl ?? ''))
      .replace('%LIVE%', options.live === undefined ? 'stored' : 'live');
    sendAsset(res, page, html);
    return;
  }
  const asset = files.get(path.slice('/modeltap/view/'.length));
  if (asset === undefined) sendError(res, 404, 'not_found', `no file at ${path}`);
  else sendAsset(res, asset);
}

/**
 * A browser's `?key=KEY` on the view: the right key is exchanged for an HttpOnly cookie and the
 * browser sent back to the same page without it (so the key leaves the address bar and its
 * history); a wrong one is refused. Returns whether it answered.
 */
export function exchangeKey(accessKey: AccessKey, req: IncomingMessage, res: ServerResponse, path: string, query: string): boolean {
  const params = new URLSearchParams(query);
  const key = params.get('key');
  if (key === null) return false;
  if (!accessKey.isKey(key)) {
    sendError(res, 401, 'wrong_access_key', "That is not this modeltap's access key.");
    return true;
  }
  params.delete('key');
  const rest = params.toString();
  const forwardedTls = req.headers['x-forwarded-proto'] === 'https';
  res.writeHead(303, { location: `${path}${rest === '' ? '' : `?${rest}`}`, 'set-cookie': accessKey.viewCookie(forwardedTls) as string, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
  return true;
}
