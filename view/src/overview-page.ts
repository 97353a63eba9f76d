import { api, type StatsPoint } from './api.js';
import { bucketOf, chartsOf } from './chart-series.js';
import { throttledRefresh } from './conversations-page.js';
import { h, replace } from './dom.js';
import type { Page, PageContext } from './page.js';
import uPlot from './uPlot.esm.js';

const RANGES: Readonly<Record<string, number>> = { '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 };
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
/** Overview: requests/s, time to first chunk and duration percentiles, tokens/s and error rate over time, per model. */
export function overviewPage(root: HTMLElement, ctx: PageContext): Page {
  const range = RANGES[ctx.params.get('range') ?? ''] !== undefined ? (ctx.params.get('range') as string) : '1h';
  const focus = ctx.params.get('model');
  const plots: uPlot[] = [];
  const grid = h('div', { class: 'charts' });
  const note = h('p', { class: 'note' });
  const select: HTMLSelectElement = h('select', { name: 'model', on: { change: () => go(select.value) } });
  const go = (model: string): void => {
    const params = new URLSearchParams({ range });
    if (model !== '') params.set('model', model);
    location.hash = `#/overview?${params.toString()}`;
  };
  replace(
    root,
    h('h1', {}, 'Overview'),
    h(
      'div',
      { class: 'filters' },
      ...Object.keys(RANGES).map((r) => h('a', { href: `#/overview?range=${r}${focus === null ? '' : `&model=${encodeURIComponent(focus)}`}`, class: r === range ? 'range active' : 'range' }, r)),
      h('label', {}, ' percentiles of ', select),
    ),
    note,
    grid,
  );
  const draw = async (): Promise<void> => {
    const rangeMs = RANGES[range] as number;
    const bucketMs = bucketOf(rangeMs);
    const until = Math.ceil(Date.now() / bucketMs) * bucketMs;
    const since = until - Math.ceil(rangeMs / bucketMs) * bucketMs;
    const stats = await api<{ points: StatsPoint[]; truncated: boolean }>('stats', { since, until, bucket_ms: bucketMs });
    const { xs, charts, models, chosen } = chartsOf(stats.points, since, bucketMs, Math.round((until - since) / bucketMs), focus);
    select.replaceChildren(...models.map((m) => h('option', { value: m, selected: m === chosen }, m)));
    note.textContent = stats.points.length === 0 ? 'No model requests in this range yet.' : stats.truncated ? 'More requests than the charts read: the newest are left out.' : '';
    for (const plot of plots.splice(0)) plot.destroy();
    grid.replaceChildren();
    // Every box first, then the plots: a box's width is its grid cell's once all are laid out.
    const boxes = charts.map((chart) => {
      const points = chart.series.reduce((n, s) => n + s.values.filter((v) => v !== null && v !== 0).length, 0);
      return grid.appendChild(h('div', { class: 'chart', 'data-title': chart.title, 'data-points': points }));
    });
    charts.forEach((chart, c) => {
      const box = boxes[c] as HTMLElement;
      const opts: uPlot.Options = {
        title: chart.title,
        // The cell, less the box's padding: a wider canvas would draw over its neighbour.
        width: Math.max(300, box.clientWidth - 8),
        height: 220,
        scales: { x: { time: true } },
        series: [
          {},
          ...chart.series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length] as string,
            width: 1.5,
            spanGaps: false,
            // A lone value between gaps draws no line: its point shows it.
            points: { show: s.values.filter((v) => v !== null).length < 40 },
          })),
        ],
        axes: [{}, { label: chart.unit, size: 60 }],
      };
      plots.push(new uPlot(opts, [xs, ...chart.series.map((s) => [...s.values])] as uPlot.AlignedData, box));
    });
  };
  const run = (): void => void draw().catch((error: unknown) => (note.textContent = String(error)));
  run();
  const stop = throttledRefresh(ctx, run);
  return {
    dispose: () => {
      stop();
      for (const plot of plots.splice(0)) plot.destroy();
    },
  };
}
