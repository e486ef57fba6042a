// A WebGL scatter pane (regl-scatterplot) with categorical colours, hover, lasso and morph.
import createScatterplot, { createRenderer } from 'regl-scatterplot';
import KDBush from 'kdbush';

export const CATEGORICAL = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',
  '#9c755f', '#499894', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#d4a6c8', '#bcbd22', '#17becf',
];
// k-NN overlap 0.0 … 1.0: dark red (moved) → purple → blue (kept), then grey for "not
// computed". A path in OKLCH: lightness rises evenly with overlap (0.40 → 0.64), so the
// order reads at a glance and the movers are the darkest, most salient points, while the
// hue turns 150° so that neighbouring bins stay apart. No stop is light: a diverging
// scale's white middle hid every 0.4 point on the white plot. Every colour here has at
// least 3.3:1 contrast against BACKGROUND (WCAG's 3:1 for graphics), checked by
// tests/server/test_browser_view.py.
export const SEQUENTIAL = [
  '#861309', '#8d1933', '#912351', '#922f6e', '#8f3b8a', '#8949a3', '#7e57b9', '#7066ca',
  '#5c76d6', '#3f86dd', '#0895da', '#8c8c8c',
];
export const BACKGROUND = '#ffffff';
// Points keep this far (CSS px) from the pane's edges when the view is fitted to the data.
const FIT_MARGIN_PX = 16;

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

// A pane shows n items; a draw may hold only some of them (the version page's sampled
// preview): `positions` then maps each drawn point to its item. Every method and callback
// speaks item positions (0..n-1); items not drawn are skipped.
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
      // a point keeps its size in pixels at any zoom: fitting a layout to a small pane
      // zooms out, which would otherwise shrink the points to specks
      pointScaleMode: 'constant',
      pointColorActive: '#000000',
      pointColorHover: '#111111',
      pointOutlineWidth: 2,
      lassoColor: '#0066cc',
      performanceMode: n > 500000,
      deselectOnDblClick: true,
    });
    this.x = null;
    this.y = null;
    this.positions = null;
    this.drawnAt = null;
    this.codes = new Uint8Array(n);
    if (onHover) {
      this.scatterplot.subscribe('pointOver', (i) => onHover(this.positionOf(i), this));
      this.scatterplot.subscribe('pointOut', () => onHover(null, this));
    }
    if (onSelect) {
      this.scatterplot.subscribe('select', ({ points }) => onSelect(points.map((i) => this.positionOf(i)), this));
      this.scatterplot.subscribe('deselect', () => onSelect([], this));
    }
    // The view follows the data (fitted on draw and on resize) until the person pans or zooms.
    this.bounds = null;
    this.followsData = true;
    this.canvas.addEventListener('wheel', () => { this.followsData = false; }, { passive: true });
    this.canvas.addEventListener('pointermove', (event) => {
      // a drag pans, unless it is a lasso (shift+drag, or the lasso mouse mode)
      if (event.buttons && !event.shiftKey && this.scatterplot.get('mouseMode') === 'panZoom') this.followsData = false;
    });
    this.resizeObserver = new ResizeObserver(async () => {
      const box = container.getBoundingClientRect();
      if (box.width <= 0 || box.height <= 0) return;
      // the library takes the new aspect ratio on its next frame: fit after that
      await this.scatterplot.set({ width: box.width, height: box.height });
      if (this.followsData && !this.scatterplot.get('isDestroyed')) this.fit();
    });
    this.resizeObserver.observe(container);
  }

  // Frame the data's bounding box (or this.bounds, when panes share one) with a margin,
  // whatever the pane's aspect: the library's default view shows [-1, 1] on the short
  // side only, which cuts off wide layouts in tall panes and wastes wide panes.
  fit() {
    if (!this.x || !this.n) return Promise.resolve();
    const { xMin, xMax, yMin, yMax } = this.bounds ?? boundsOf({ x: this.x, y: this.y });
    const { width, height } = this.canvas.getBoundingClientRect();
    if (width <= 2 * FIT_MARGIN_PX || height <= 2 * FIT_MARGIN_PX) return Promise.resolve();
    const span = Math.max(xMax - xMin, yMax - yMin, 1e-6);
    // extent in data units that maps the data onto the pane less its margin, per axis
    const w = Math.max(xMax - xMin, span * 1e-3) * (width / (width - 2 * FIT_MARGIN_PX));
    const h = Math.max(yMax - yMin, span * 1e-3) * (height / (height - 2 * FIT_MARGIN_PX));
    const cx = (xMin + xMax) / 2;
    const cy = (yMin + yMax) / 2;
    return this.scatterplot.zoomToArea({ x: cx - w / 2, y: cy - h / 2, width: w, height: h });
  }

  rows(x, y) {
    const rows = new Array(x.length);
    const at = this.positions;
    for (let i = 0; i < x.length; i += 1) rows[i] = [x[i], y[i], this.codes[at ? at[i] : i], 0];
    return rows;
  }

  // The item of drawn point i, and the drawn point of an item (-1: not drawn).
  positionOf(i) {
    return this.positions ? this.positions[i] : i;
  }

  drawnIndex(position) {
    if (!this.positions) return position;
    if (!this.drawnAt) {
      this.drawnAt = new Int32Array(this.n).fill(-1);
      this.positions.forEach((p, i) => { this.drawnAt[p] = i; });
    }
    return this.drawnAt[position] ?? -1;
  }

  // The library's spatial index (KDBush, same format) built straight from the typed
  // arrays: its own path copies every point into a worker first.
  static spatialIndex(x, y) {
    const index = new KDBush(x.length, 16);
    for (let i = 0; i < x.length; i += 1) index.add(x[i], y[i]);
    index.finish();
    return index.data;
  }

  // One point drawn outside the view, so that the library's first draw (shader
  // compilation; on software WebGL a few hundred ms) happens while the page waits for data.
  async warmUp() {
    const away = new Float32Array([-10]);
    await this.scatterplot.draw([[-10, -10, 0, 0]], { spatialIndex: Pane.spatialIndex(away, away), zDataType: 'categorical' });
  }

  // x, y: Float32Array of the drawn points; positions: their items (null: all n, in order).
  async draw(x, y, { transition = false, duration = 1500, positions = null } = {}) {
    this.x = x;
    this.y = y;
    this.positions = positions;
    this.drawnAt = null;
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
    // A morph keeps the camera still: both layouts lie inside the shared bounds.
    if (!transition && this.followsData) await this.fit();
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

  select(positions) {
    const drawn = this.positions ? positions.map((p) => this.drawnIndex(p)).filter((i) => i >= 0) : positions;
    this.scatterplot.select(drawn, { preventEvent: true });
  }

  hover(position) {
    const i = this.drawnIndex(position);
    if (i >= 0) this.scatterplot.hover(i, { preventEvent: true });
  }

  setMode(mode) {
    this.scatterplot.set({ mouseMode: mode });
  }

  selected() {
    return Array.from(this.scatterplot.get('selectedPoints') ?? [], (i) => this.positionOf(i));
  }

  // Viewport coordinates of item `position` under the current camera (the hover card is
  // fixed there); it must be drawn.
  clientOf(position) {
    const i = this.drawnIndex(position);
    const view = this.scatterplot.get('cameraView');
    const box = this.canvas.getBoundingClientRect();
    const aspect = box.width / box.height;
    const cx = view[0] * this.x[i] + view[4] * this.y[i] + view[12];
    const cy = view[1] * this.x[i] + view[5] * this.y[i] + view[13];
    return { x: box.left + ((cx / aspect + 1) / 2) * box.width, y: box.top + ((1 - cy) / 2) * box.height };
  }

  // Page coordinates of point i (used by tests).
  screenOf(i) {
    const at = this.clientOf(i);
    return { x: at.x + window.scrollX, y: at.y + window.scrollY };
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.scatterplot.destroy();
  }
}

// Bounding box of one or more layouts ({x, y} of Float32Array (n,) each).
export function boundsOf(...layouts) {
  let xMin = Infinity; let xMax = -Infinity; let yMin = Infinity; let yMax = -Infinity;
  for (const { x, y } of layouts) {
    for (let i = 0; i < x.length; i += 1) {
      if (x[i] < xMin) xMin = x[i];
      if (x[i] > xMax) xMax = x[i];
      if (y[i] < yMin) yMin = y[i];
      if (y[i] > yMax) yMax = y[i];
    }
  }
  return { xMin, xMax, yMin, yMax };
}

// Resolve after the browser has painted the frame that follows the draw.
export function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}
