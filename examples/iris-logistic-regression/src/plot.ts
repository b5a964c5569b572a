/** One line of a chart. */
export interface Series {
  label: string;
  color: string;
  values: readonly number[];
  /** Draws the line dashed (used for the test-set curves). */
  dashed?: boolean;
}

/** One chart panel: a title, a y-axis label and its lines (x is the epoch). */
export interface Panel {
  title: string;
  yLabel: string;
  series: readonly Series[];
  /** Fixed y range, e.g. `[0, 1]` for accuracy; computed from the data otherwise. */
  yRange?: readonly [number, number];
  /** Corner of the legend, away from the curves. @default 'top' */
  legend?: 'top' | 'bottom';
}

const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 320;
const MARGIN = { top: 36, right: 16, bottom: 44, left: 56 } as const;

/**
 * Renders panels side by side as a standalone SVG document (plain text: no canvas, no native
 * dependency), each with axes, ticks, a legend and one polyline per series. `title` is the
 * document's accessible title.
 *
 * @example
 * writeFileSync('curves.svg', trainingCurvesSvg('Training curves', [{ title: 'Loss', yLabel: 'loss', series }]));
 */
export function trainingCurvesSvg(title: string, panels: readonly Panel[]): string {
  const width = PANEL_WIDTH * panels.length;
  const body = panels.map((panel, index) => renderPanel(panel, index * PANEL_WIDTH)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${PANEL_HEIGHT}" viewBox="0 0 ${width} ${PANEL_HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${PANEL_HEIGHT}" fill="white"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

function renderPanel(panel: Panel, offsetX: number): string {
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const epochs = Math.max(1, ...panel.series.map((s) => s.values.length));
  const all = panel.series.flatMap((s) => s.values.filter(Number.isFinite));
  const [low, high, step] = yScale(panel.yRange ?? [Math.min(...all), Math.max(...all)]);
  const x = (epoch: number): number => MARGIN.left + (epochs <= 1 ? 0 : (epoch / (epochs - 1)) * plotWidth);
  const y = (value: number): number =>
    MARGIN.top + plotHeight - ((value - low) / (high - low || 1)) * plotHeight;

  const parts: string[] = [`<g transform="translate(${offsetX},0)">`];
  parts.push(
    `<text x="${PANEL_WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`,
  );
  for (let tick = 0; low + tick * step <= high + step / 2; tick += 1) {
    const value = low + tick * step;
    const ty = y(value).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${ty}" x2="${MARGIN.left + plotWidth}" y2="${ty}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${formatTick(value)}</text>`,
    );
  }
  for (const epoch of xTicks(epochs)) {
    const tx = x(epoch).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${MARGIN.top + plotHeight}" x2="${tx}" y2="${MARGIN.top + plotHeight + 4}" stroke="#333"/>`,
      `<text x="${tx}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${epoch}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${PANEL_HEIGHT - 8}" text-anchor="middle">epoch</text>`,
    `<text transform="translate(14,${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
  );
  panel.series.forEach((series, index) => {
    const points = series.values
      .map((value, epoch) => (Number.isFinite(value) ? `${x(epoch).toFixed(1)},${y(value).toFixed(1)}` : ''))
      .filter((point) => point !== '')
      .join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 3"' : '';
    parts.push(`<polyline points="${points}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`);
    const rows = panel.series.length;
    const ly =
      panel.legend === 'bottom'
        ? MARGIN.top + plotHeight - 14 - (rows - 1 - index) * 16
        : MARGIN.top + 14 + index * 16;
    const lx = MARGIN.left + plotWidth - 90;
    if (index === 0) {
      parts.push(
        `<rect x="${lx - 6}" y="${ly - 8}" width="84" height="${rows * 16}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
      );
    }
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 26}" y="${ly}" dominant-baseline="middle">${escapeXml(series.label)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** Low, high and tick step of a y axis: about five round steps (1, 2 or 5 × 10ⁿ) covering the data. */
function yScale([min, max]: readonly [number, number]): [number, number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1, 0.2];
  if (min === max) return yScale([min - 1, max + 1]);
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((f) => f * magnitude >= raw) ?? 10) * magnitude;
  return [Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step, step];
}

/** About six round epoch ticks from 0 to the last epoch. */
function xTicks(epochs: number): number[] {
  const last = epochs - 1;
  if (last <= 0) return [0];
  const raw = last / 5;
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => s >= raw) ?? Math.ceil(raw);
  const ticks: number[] = [];
  for (let epoch = 0; epoch <= last; epoch += step) ticks.push(epoch);
  return ticks;
}

function formatTick(value: number): string {
  return Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(2);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
