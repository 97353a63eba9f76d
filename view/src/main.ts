import { api, ApiError, type StoreState } from './api.js';
import { conversationsPage } from './conversations-page.js';
import { h, replace } from './dom.js';
import { Live } from './live.js';
import { overviewPage } from './overview-page.js';
import type { Page, PageContext } from './page.js';
import { requestPage } from './request-page.js';
import { requestsPage } from './requests-page.js';

const meta = (name: string): string => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

const root = document.getElementById('page') as HTMLElement;
const status = document.getElementById('status') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;

const STATES = { connecting: 'connecting…', live: '● live', stored: 'stored database', lost: 'reconnecting…' } as const;
const live = new Live(meta('modeltap-mode') === 'live', (state) => {
  status.textContent = STATES[state];
  status.className = `status ${state}`;
  void checkStore();
});

/** Says when the store is off or failing (its writes are dropped and counted). */
async function checkStore(): Promise<void> {
  try {
    const store = await api<StoreState>('store');
    if (store.fault !== null) replace(banner, `The request store ${store.location} is failing (${store.fault.code}: ${store.fault.message}); ${store.dropped} requests were not stored.`);
    else replace(banner);
    banner.hidden = store.fault === null;
  } catch (error) {
    banner.hidden = false;
    replace(banner, error instanceof ApiError && error.code === 'store_off' ? h('span', {}, 'The request store is off: start ', h('code', {}, 'modeltap serve --store default'), ' to keep and see requests here.') : `The request store did not answer: ${String(error)}`);
  }
}

live.onStore = () => void checkStore();

let current: Page | undefined;

function route(): void {
  const hash = location.hash.replace(/^#/, '') || '/requests';
  const q = hash.indexOf('?');
  const path = q === -1 ? hash : hash.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : hash.slice(q + 1));
  const [, section = 'requests', id] = path.split('/');
  const ctx: PageContext = { params, id: id === undefined || id === '' ? undefined : decodeURIComponent(id), live, traceUrl: meta('modeltap-trace-url') };
  current?.dispose();
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('active', link.dataset['section'] === section);
  if (section === 'overview') current = overviewPage(root, ctx);
  else if (section === 'conversations') current = conversationsPage(root, ctx);
  else if (section === 'requests' && ctx.id !== undefined) current = requestPage(root, ctx);
  else current = requestsPage(root, ctx);
}

window.addEventListener('hashchange', route);
route();
void checkStore();
