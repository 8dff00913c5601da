// The scrape-time plot: median scrape time against interfaces, log-log, one colour per exporter,
// solid for plain scrapes and dashed for Prometheus-style (gzip) ones. Plain SVG, no libraries.

export interface PlotSeries {
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  /** [interfaces, ms] */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

const W = 760;
const H = 460;
const M = { left: 70, right: 250, top: 40, bottom: 55 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Powers of ten spanning [min, max] (a value a hair above a power, like 10,001, does not add a decade). */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min) + 0.01); e <= Math.ceil(Math.log10(max) - 0.01); e++) out.push(10 ** e);
  return out;
}

export function renderPlot(title: string, series: readonly PlotSeries[], note: string): string {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0);
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no data</text></svg>\n`;
  const xs = decades(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])));
  const ys = decades(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])));
  const [x0, x1] = [Math.log10(xs[0] as number), Math.log10(xs[xs.length - 1] as number)];
  const [y0, y1] = [Math.log10(ys[0] as number), Math.log10(ys[ys.length - 1] as number)];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (x: number): number => M.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * pw;
  const py = (y: number): number => M.top + ph - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const y of ys) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y >= 1000 ? `${y / 1000} s` : `${y} ms`}</text>`);
  }
  for (const x of xs) out.push(`<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" stroke="#ddd"/>`);
  // x labels at the measured sizes
  for (const x of [...new Set(all.map((p) => p[0]))]) {
    out.push(`<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#888"/>`);
    out.push(`<text x="${px(x).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">interfaces (log)</text>`);
  out.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">median scrape time (log)</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => x > 0 && y > 0);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) {
      const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    const ly = M.top + 10 + i * 22;
    const lx = M.left + pw + 16;
    out.push(`<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 34}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push(`<text x="${M.left + pw + 16}" y="${M.top + ph}" font-size="10" fill="#555">${esc(note)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
