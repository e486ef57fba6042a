// The notebook widget (anywidget's ES module): the version page's and the compare page's
// WebGL scatter, drawn by the same Pane as `embver ui` (scatter.js, regl-scatterplot) and
// fed by the widget's binary traits (EVP1 points, EVC1 colours; see binary.py) instead of
// HTTP. Hovered items come from the kernel on demand; the lasso selection, the colouring
// and the morph are traits Python reads and sets (src/embver/widgets/scatter.py).
import { Pane, nextPaint, legendColours, boundsOf } from './scatter.js';
import { decodePoints, decodeCodes } from './frames.js';
import { h, clear, fmt } from './dom.js';
import { legendView } from './pages/version.js';
import css from './widget.css?inline';

// Hooks for tests and benchmarks: every view drawn on this page, with its panes and the
// moment its first frame was painted (performance.now()).
const views = (window.__embverWidgets ??= []);

// A binary trait arrives as a DataView, possibly over a larger message buffer: copy its
// bytes into a buffer of their own so that the frame's typed arrays are aligned.
function bufferOf(value) {
  if (value instanceof ArrayBuffer) return value;
  return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
}

const frameBytes = (model) => model.get('_points').byteLength + model.get('_codes').byteLength;

// Items asked of the kernel by position: a custom message answered with the same token.
function itemSource(model) {
  let last = 0;
  const waiting = new Map();
  const onMessage = (message) => {
    if (message?.type !== 'item' || !waiting.has(message.token)) return;
    waiting.get(message.token)(message.item ?? null);
    waiting.delete(message.token);
  };
  model.on('msg:custom', onMessage);
  return {
    get(index) {
      last += 1;
      const token = last;
      model.send({ type: 'item', index, token });
      return new Promise((resolve) => waiting.set(token, resolve));
    },
    close() { model.off('msg:custom', onMessage); },
  };
}

const CARD_GAP = 14;

// Fill the hover card with an item and put it beside the point at ``at`` (viewport
// coordinates), inside the widget: a notebook's output area scrolls and clips.
function showCard(card, root, item, at) {
  clear(card);
  card.appendChild(h('div', { class: 'item-id' }, item.id));
  if (item.label !== null && item.label !== undefined) card.appendChild(h('div', { class: 'item-label' }, `label: ${item.label}`));
  if (item.text) card.appendChild(h('div', { class: 'item-text' }, item.text));
  const meta = Object.entries(item.metadata ?? {}).slice(0, 6);
  if (meta.length) card.appendChild(h('div', { class: 'item-meta' }, meta.map(([k, v]) => `${k}: ${fmt(v)}`).join(' · ')));
  card.hidden = false;
  const box = root.getBoundingClientRect();
  const { width, height } = card.getBoundingClientRect();
  let left = at.x - box.left + CARD_GAP;
  if (left + width > box.width) left = at.x - box.left - CARD_GAP - width;
  let top = at.y - box.top + CARD_GAP;
  if (top + height > box.height) top = at.y - box.top - CARD_GAP - height;
  card.style.left = `${Math.max(0, left)}px`;
  card.style.top = `${Math.max(0, top)}px`;
}

function colourSelect(model) {
  const select = h('select', { class: 'colour-by' }, model.get('_color_options').map((c) =>
    h('option', { value: c, selected: c === model.get('color_by') }, c)));
  select.addEventListener('change', () => { model.set('color_by', select.value); model.save_changes(); });
  model.on('change:color_by', () => { select.value = model.get('color_by'); });
  return select;
}

function modeSelect(panes) {
  const select = h('select', { class: 'mouse-mode' },
    h('option', { value: 'panZoom' }, 'pan/zoom'), h('option', { value: 'lasso' }, 'lasso'));
  select.addEventListener('change', () => panes().forEach((p) => p.setMode(select.value)));
  return select;
}

const sameSelection = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// The widget's frame: scoped styles, a toolbar, the hover card.
function scaffold(el, model) {
  const root = h('div', { class: `embver-widget embver-${model.get('kind')}` });
  root.appendChild(h('style', {}, css));
  const toolbar = h('div', { class: 'toolbar' });
  const card = h('div', { class: 'hover-card', hidden: true });
  const legendBox = h('div', { class: 'legend-box' });
  const status = h('span', { class: 'status muted' });
  el.appendChild(root);
  return { root, toolbar, card, legendBox, status };
}

async function renderVersion({ model, el }) {
  const started = performance.now();
  const { root, toolbar, card, legendBox, status } = scaffold(el, model);
  const plotBox = h('div', { class: 'plot', style: `height:${model.get('height')}px` });
  let pane = null;
  toolbar.append(h('strong', {}, model.get('_title')), ' colour ', colourSelect(model), ' mouse ', modeSelect(() => [pane]), status);
  root.append(toolbar, plotBox, legendBox, card);

  const points = decodePoints(bufferOf(model.get('_points')));
  const colours = decodeCodes(bufferOf(model.get('_codes')));
  const decoded = performance.now();
  const items = itemSource(model);
  const summary = () => `${points.n.toLocaleString()} items · ${model.get('_subtitle')}`;
  status.textContent = summary();
  let hovered = null;
  const onHover = async (i, p) => {
    hovered = i;
    if (i === null) { card.hidden = true; return; }
    const item = await items.get(i);
    if (item && hovered === i) showCard(card, root, item, p.clientOf(i));
  };
  const onSelect = (selection) => {
    model.set('_selection', Array.from(selection));
    model.save_changes();
  };
  pane = new Pane(plotBox, points.n, { onHover, onSelect });
  pane.codes = colours.codes;
  pane.scatterplot.set({ colorBy: 'valueA', pointColor: legendColours(colours.legend) });
  await pane.draw(points.panes[0].x, points.panes[0].y);
  await nextPaint();
  const record = {
    kind: 'version', panes: [pane], root, startMs: started, firstPaint: performance.now(),
    timing: { decodeMs: decoded - started, ...pane.timing, bytes: frameBytes(model), points: points.n },
  };
  views.push(record);
  clear(legendBox).appendChild(legendView(colours.legend));

  const showSelection = () => {
    const selection = model.get('_selection');
    status.textContent = selection.length ? `${summary()} · ${selection.length} selected` : summary();
    if (!sameSelection(selection, pane.selected())) pane.select(selection);
  };
  const recolour = async () => {
    const next = decodeCodes(bufferOf(model.get('_codes')));
    await pane.colour(next.codes, next.legend);
    clear(legendBox).appendChild(legendView(next.legend));
  };
  model.on('change:_selection', showSelection);
  model.on('change:_codes', recolour);
  return () => {
    model.off('change:_selection', showSelection);
    model.off('change:_codes', recolour);
    items.close();
    pane.destroy();
    views.splice(views.indexOf(record), 1);
  };
}

async function renderComparison({ model, el }) {
  const started = performance.now();
  const { root, toolbar, card, legendBox, status } = scaffold(el, model);
  const [refA, refB] = model.get('_refs');
  const style = `height:${model.get('height')}px`;
  const boxA = h('div', { class: 'plot pane-a', style });
  const boxB = h('div', { class: 'plot pane-b', style });
  const titleA = h('div', { class: 'pane-title' }, refA);
  const slider = h('input', { class: 'morph', type: 'range', min: 0, max: 1000, value: Math.round(model.get('morph') * 1000), title: `morph ${refA} into ${refB}` });
  let panes = [];
  toolbar.append('colour ', colourSelect(model), ' mouse ', modeSelect(() => panes), ` morph ${refA} `, slider, ` ${refB} `, status);
  root.append(toolbar, h('div', { class: 'panes' },
    h('div', { class: 'pane' }, titleA, boxA), h('div', { class: 'pane' }, h('div', { class: 'pane-title' }, refB), boxB)),
  legendBox, card);

  const points = decodePoints(bufferOf(model.get('_points')));
  const colours = decodeCodes(bufferOf(model.get('_codes')));
  const decoded = performance.now();
  const items = itemSource(model);
  const summary = () => `${points.n.toLocaleString()} shared items · ${model.get('_subtitle')}`;
  status.textContent = summary();
  let hovered = null;
  const onHover = async (i, source) => {
    hovered = i;
    if (i === null) { card.hidden = true; return; }
    panes.find((p) => p !== source).hover(i);
    const item = await items.get(i);
    if (item && hovered === i) showCard(card, root, item, source.clientOf(i));
  };
  const onSelect = (selection, source) => {
    panes.find((p) => p !== source).select(selection);
    model.set('_selection', Array.from(selection));
    model.save_changes();
  };
  const paneA = new Pane(boxA, points.n, { onHover, onSelect });
  const paneB = new Pane(boxB, points.n, { onHover, onSelect });
  panes = [paneA, paneB];
  for (const p of panes) {
    p.codes = colours.codes;
    p.scatterplot.set({ colorBy: 'valueA', pointColor: legendColours(colours.legend) });
  }
  const [a, b] = points.panes;
  // One scale for both panes, and every stage of the morph stays inside pane A.
  const shared = boundsOf(a, b);
  panes.forEach((p) => { p.bounds = shared; });
  await Promise.all([paneA.draw(a.x, a.y), paneB.draw(b.x, b.y)]);
  await nextPaint();
  const record = {
    kind: 'comparison', panes, root, startMs: started, firstPaint: performance.now(), morph: 0,
    timing: { decodeMs: decoded - started, bytes: frameBytes(model), points: points.n },
  };
  views.push(record);
  clear(legendBox).appendChild(legendView(colours.legend));

  // The morph: pane A drawn at (1 - t)·A + t·B; one draw at a time, the latest t wins.
  const x = new Float32Array(points.n);
  const y = new Float32Array(points.n);
  let wanted = null;
  let drawing = false;
  const morphTo = async (t) => {
    wanted = t;
    if (drawing) return;
    drawing = true;
    while (wanted !== null) {
      const s = wanted;
      wanted = null;
      if (s <= 0) await paneA.draw(a.x, a.y);
      else if (s >= 1) await paneA.draw(b.x, b.y);
      else {
        for (let i = 0; i < points.n; i += 1) {
          x[i] = a.x[i] + s * (b.x[i] - a.x[i]);
          y[i] = a.y[i] + s * (b.y[i] - a.y[i]);
        }
        await paneA.draw(x, y);
      }
      titleA.textContent = s <= 0 ? refA : `${refA} → ${Math.round(s * 100)}% morphed to ${refB}`;
      record.morph = s;
    }
    drawing = false;
  };
  slider.addEventListener('input', () => {
    const t = Number(slider.value) / 1000;
    morphTo(t);
    model.set('morph', t);
    model.save_changes();
  });
  const onMorph = () => {
    const t = model.get('morph');
    if (Math.round(t * 1000) !== Number(slider.value)) slider.value = Math.round(t * 1000);
    if (t !== record.morph) morphTo(t);
  };
  const showSelection = () => {
    const selection = model.get('_selection');
    status.textContent = selection.length ? `${summary()} · ${selection.length} selected in both panes` : summary();
    panes.forEach((p) => { if (!sameSelection(selection, p.selected())) p.select(selection); });
  };
  const recolour = async () => {
    const next = decodeCodes(bufferOf(model.get('_codes')));
    await Promise.all(panes.map((p) => p.colour(next.codes, next.legend)));
    clear(legendBox).appendChild(legendView(next.legend));
  };
  if (model.get('morph') > 0) onMorph();
  model.on('change:morph', onMorph);
  model.on('change:_selection', showSelection);
  model.on('change:_codes', recolour);
  return () => {
    model.off('change:morph', onMorph);
    model.off('change:_selection', showSelection);
    model.off('change:_codes', recolour);
    items.close();
    panes.forEach((p) => p.destroy());
    views.splice(views.indexOf(record), 1);
  };
}

async function render({ model, el }) {
  try {
    return await (model.get('kind') === 'comparison' ? renderComparison : renderVersion)({ model, el });
  } catch (error) {
    el.appendChild(h('div', { class: 'embver-widget' }, h('style', {}, css),
      h('div', { class: 'error', role: 'alert' }, `embver widget: ${error.message ?? error}`)));
    console.warn(error);
    return undefined;
  }
}

export default { render };
