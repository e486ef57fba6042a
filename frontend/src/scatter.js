// A WebGL scatter pane (regl-scatterplot) with categorical colours, hover, lasso and morph.
import createScatterplot, { createRenderer } from 'regl-scatterplot';
import KDBush from 'kdbush';

export const CATEGORICAL = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
  '#9c755f', '#499894', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#d4a6c8', '#bcbd22', '#17becf',
];
// k-NN overlap 0.0 … 1.0: red (moved) → blue (kept), then grey for "not computed".
export const SEQUENTIAL = [
  '#b2182b', '#d6604d', '#f4a582', '#fddbc7', '#f7f7f7', '#d1e5f0', '#92c5de', '#6aaed6',
  '#4393c3', '#2166ac', '#053061', '#bbbbbb',
];
export const BACKGROUND = '#ffffff';

function pointSizeFor(n) {
  if (n > 300000) return 2;
  if (n > 30000) return 3;
  if (n > 3000) return 4;
  return 7;
}

// HDBSCAN's unclustered points: a light grey that recedes behind the clusters.
export const NOISE = '#cfcfcf';

export function legendColours(legend) {
  if (legend.kind === 'sequential') return legend.categories.map((_, i) => SEQUENTIAL[i % SEQUENTIAL.length]);
  let next = 0;
  return legend.categories.map((c) => (legend.title === 'cluster' && c.name === 'noise'
    ? NOISE : CATEGORICAL[(next++) % CATEGORICAL.length]));
}

// One WebGL renderer shared by every pane (the library's advice for several instances:
// browsers cap the number of live WebGL contexts).
let sharedRenderer = null;
function renderer() {
  if (!sharedRenderer || sharedRenderer.isDestroyed) sharedRenderer = createRenderer();
  return sharedRenderer;
}

export class Pane {
  constructor(container, n, { onHover, onSelect } = {}) {
    this.container = container;
    this.n = n;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'scatter';
    container.appendChild(this.canvas);
    const { width, height } = container.getBoundingClientRect();
    this.scatterplot = createScatterplot({
      canvas: this.canvas,
      renderer: renderer(),
      width: Math.max(width, 100),
      height: Math.max(height, 100),
      backgroundColor: BACKGROUND,
      pointSize: pointSizeFor(n),
      pointColorActive: '#000000',
      pointColorHover: '#111111',
      pointOutlineWidth: 2,
      lassoColor: '#0066cc',
      performanceMode: n > 500000,
      deselectOnDblClick: true,
    });
    this.x = null;
    this.y = null;
    this.codes = new Uint8Array(n);
    if (onHover) {
      this.scatterplot.subscribe('pointOver', (i) => onHover(i, this));
      this.scatterplot.subscribe('pointOut', () => onHover(null, this));
    }
    if (onSelect) {
      this.scatterplot.subscribe('select', ({ points }) => onSelect(points, this));
      this.scatterplot.subscribe('deselect', () => onSelect([], this));
    }
    this.resizeObserver = new ResizeObserver(() => {
      const box = container.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) this.scatterplot.set({ width: box.width, height: box.height });
    });
    this.resizeObserver.observe(container);
  }

  rows(x, y) {
    const rows = new Array(this.n);
    for (let i = 0; i < this.n; i += 1) rows[i] = [x[i], y[i], this.codes[i], 0];
    return rows;
  }

  // The library's spatial index (KDBush, same format) built straight from the typed
  // arrays: its own path copies every point into a worker first.
  static spatialIndex(x, y) {
    const index = new KDBush(x.length, 16);
    for (let i = 0; i < x.length; i += 1) index.add(x[i], y[i]);
    index.finish();
    return index.data;
  }

  async draw(x, y, { transition = false, duration = 1500 } = {}) {
    this.x = x;
    this.y = y;
    const t0 = performance.now();
    const rows = this.rows(x, y);
    const t1 = performance.now();
    const spatialIndex = Pane.spatialIndex(x, y);
    const t2 = performance.now();
    await this.scatterplot.draw(rows, {
      spatialIndex,
      zDataType: 'categorical',
      transition,
      transitionDuration: duration,
      preventFilterReset: true,
    });
    this.timing = { rowsMs: t1 - t0, indexMs: t2 - t1, libraryDrawMs: performance.now() - t2 };
  }

  async colour(codes, legend) {
    this.codes = codes;
    this.scatterplot.set({ colorBy: 'valueA', pointColor: legendColours(legend) });
    if (this.x) {
      const spatialIndex = this.scatterplot.get('spatialIndex');
      await this.scatterplot.draw(this.rows(this.x, this.y), { zDataType: 'categorical', spatialIndex });
    }
  }

  select(indices) {
    this.scatterplot.select(indices, { preventEvent: true });
  }

  hover(index) {
    this.scatterplot.hover(index, { preventEvent: true });
  }

  setMode(mode) {
    this.scatterplot.set({ mouseMode: mode });
  }

  selected() {
    return Array.from(this.scatterplot.get('selectedPoints') ?? []);
  }

  // Page coordinates of point i under the current camera (used by tests and the tooltip).
  screenOf(i) {
    const view = this.scatterplot.get('cameraView');
    const box = this.canvas.getBoundingClientRect();
    const aspect = box.width / box.height;
    const cx = view[0] * this.x[i] + view[4] * this.y[i] + view[12];
    const cy = view[1] * this.x[i] + view[5] * this.y[i] + view[13];
    return {
      x: box.left + window.scrollX + ((cx / aspect + 1) / 2) * box.width,
      y: box.top + window.scrollY + ((1 - cy) / 2) * box.height,
    };
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.scatterplot.destroy();
  }
}

// Resolve after the browser has painted the frame that follows the draw.
export function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}
