/** Small self-contained SVG charts for the HTML reports: no scripts, no external resources. */

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((n / 1e3).toPrecision(3))}k`;
  return String(Number(n.toPrecision(4)));
}

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { top: 28, right: 16, bottom: 40, left: 60 };

/** A line chart of one or more series over a numeric x axis. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return emptyChart(title, 'no data');
  const xs = niceTicks(Math.min(...all.map((p) => p[0]), 0), Math.max(...all.map((p) => p[0])));
  const ys = niceTicks(0, Math.max(...all.map((p) => p[1]), 1));
  const [x0, x1] = [xs[0]!, xs[xs.length - 1]!];
  const [y0, y1] = [ys[0]!, ys[ys.length - 1]!];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const parts = [
    open(title),
    axes(
      xs.map((x) => [sx(x), formatNumber(x)]),
      ys.map((y) => [sy(y), formatNumber(y)]),
    ),
  ];
  parts.push(labels(xLabel, yLabel));
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
  }
  parts.push(legend(series));
  parts.push('</svg>');
  return parts.join('');
}

/** A bar chart with one labelled bar per category. */
export function barChart(
  title: string,
  xLabel: string,
  yLabel: string,
  bars: Array<{ label: string; value: number }>,
  color = '#4e79a7',
): string {
  if (bars.length === 0) return emptyChart(title, 'no data');
  const ys = niceTicks(0, Math.max(...bars.map((b) => b.value), 1));
  const y1 = ys[ys.length - 1]!;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotW / bars.length;
  const sy = (y: number) => MARGIN.top + plotH - (y / y1) * plotH;
  const parts = [
    open(title),
    axes(
      [],
      ys.map((y) => [sy(y), formatNumber(y)]),
    ),
    labels(xLabel, yLabel),
  ];
  bars.forEach((bar, i) => {
    const x = MARGIN.left + i * slot;
    const top = sy(bar.value);
    parts.push(
      `<rect x="${(x + slot * 0.1).toFixed(1)}" y="${top.toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${(MARGIN.top + plotH - top).toFixed(1)}" fill="${color}"><title>${escapeHtml(`${bar.label}: ${bar.value}`)}</title></rect>`,
      `<text x="${(x + slot / 2).toFixed(1)}" y="${MARGIN.top + plotH + 14}" font-size="10" text-anchor="middle">${escapeHtml(bar.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

export function emptyChart(title: string, message: string): string {
  return `${open(title)}<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#888">${escapeHtml(message)}</text></svg>`;
}

function open(title: string): string {
  return (
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(title)}" font-family="sans-serif">` +
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="bold">${escapeHtml(title)}</text>`
  );
}

function axes(xTicks: Array<[number, string]>, yTicks: Array<[number, string]>): string {
  const bottom = HEIGHT - MARGIN.bottom;
  const right = WIDTH - MARGIN.right;
  const out = [
    `<line x1="${MARGIN.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (const [y, label] of yTicks) {
    out.push(
      `<line x1="${MARGIN.left}" y1="${y.toFixed(1)}" x2="${right}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="end">${escapeHtml(label)}</text>`,
    );
  }
  for (const [x, label] of xTicks) {
    out.push(
      `<line x1="${x.toFixed(1)}" y1="${bottom}" x2="${x.toFixed(1)}" y2="${bottom + 4}" stroke="#333"/>`,
      `<text x="${x.toFixed(1)}" y="${bottom + 15}" font-size="10" text-anchor="middle">${escapeHtml(label)}</text>`,
    );
  }
  return out.join('');
}

function labels(xLabel: string, yLabel: string): string {
  const midY = MARGIN.top + (HEIGHT - MARGIN.top - MARGIN.bottom) / 2;
  return (
    `<text x="${MARGIN.left + (WIDTH - MARGIN.left - MARGIN.right) / 2}" y="${HEIGHT - 6}" font-size="11" text-anchor="middle">${escapeHtml(xLabel)}</text>` +
    `<text x="14" y="${midY}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${midY})">${escapeHtml(yLabel)}</text>`
  );
}

function legend(series: Series[]): string {
  let x = WIDTH - MARGIN.right;
  const out: string[] = [];
  for (const s of [...series].reverse()) {
    const width = 24 + s.name.length * 6.5;
    x -= width;
    out.push(
      `<rect x="${x.toFixed(1)}" y="9" width="12" height="4" fill="${s.color}"/>`,
      `<text x="${(x + 16).toFixed(1)}" y="15" font-size="11">${escapeHtml(s.name)}</text>`,
    );
  }
  return out.join('');
}
