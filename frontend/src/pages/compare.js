// Compare page: two aligned panes with linked hover and lasso, colour by k-NN overlap,
// an animated morph from layout A to layout B, metric panel, top movers, where clusters went.
import { getJson, getPoints, getCodes, enc } from '../api.js';
import { h, clear, fmt, errorBox, showItem, hideItem } from '../dom.js';
import { Pane, nextPaint, legendColours, boundsOf } from '../scatter.js';
import { legendView } from './version.js';

// Render the comparison report as nested tables of its scalar figures.
function reportView(report, depth = 0) {
  if (report === null || typeof report !== 'object') return document.createTextNode(fmt(report));
  if (Array.isArray(report)) {
    if (report.length > 12 || depth > 2) return document.createTextNode(`[${report.length} entries]`);
    return h('ul', {}, report.map((r) => h('li', {}, reportView(r, depth + 1))));
  }
  return h('table', { class: `report depth-${depth}` }, h('tbody', {},
    Object.entries(report).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, reportView(v, depth + 1))))));
}

const ci = (s) => (s && s.ci_low !== undefined ? `[${fmt(s.ci_low)}, ${fmt(s.ci_high)}]` : '');

// The headline figures of a comparison, each beside its interval and chance level / noise floor.
function metricRows(report) {
  const rows = [];
  for (const [k, block] of Object.entries(report.neighbourhood ?? {})) {
    rows.push([`k-NN overlap @${k}`, block.overlap?.mean, ci(block.overlap), block.chance_overlap]);
    rows.push([`Jaccard @${k}`, block.jaccard?.mean, ci(block.jaccard), block.chance_jaccard]);
  }
  const st = report.structure ?? {};
  const nul = st.null ?? {};
  if (st.cka_debiased !== undefined) rows.push(['CKA (debiased)', st.cka_debiased, '', nul.cka_debiased]);
  if (st.procrustes_angle !== undefined) rows.push(['Procrustes angle', st.procrustes_angle, '', nul.procrustes_angle]);
  if (st.spearman) rows.push(['similarity rank corr.', st.spearman.rho, st.spearman.ci ? `[${fmt(st.spearman.ci[0])}, ${fmt(st.spearman.ci[1])}]` : '', st.spearman.chance]);
  if (st.trustworthiness !== undefined) rows.push(['trustworthiness', st.trustworthiness, '', nul.trustworthiness]);
  const same = report.same_space;
  if (same) {
    rows.push(['cosine old↔new', same.cosine?.mean, ci(same.cosine), same.cosine_random_pairs?.mean]);
    rows.push([`cross-version retrieval @${same.cr_k}`, same.cr_at_k?.mean, ci(same.cr_at_k), same.cr_chance]);
  }
  for (const m of report.migration?.scores ?? []) {
    rows.push([`${m.kind} map ${m.direction} retention`, m.retention, ci(m), '']);
  }
  return h('table', { class: 'metric-table' },
    h('thead', {}, h('tr', {}, ['metric', 'value', '95% interval', 'chance / null'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map(([name, value, interval, chance]) =>
      h('tr', {}, h('td', {}, name), h('td', {}, h('strong', {}, fmt(value))), h('td', { class: 'muted' }, interval), h('td', { class: 'muted' }, fmt(chance))))));
}

export async function renderCompare(app, refA, refB) {
  const q = `a=${enc(refA)}&b=${enc(refB)}`;
  const loading = app.appendChild(h('p', { class: 'loading muted' },
    'Loading both layouts… (a first comparison computes aligned projections and caches them)'));
  const boxA = h('div', { class: 'plot pane-a', id: 'pane-a' });
  const boxB = h('div', { class: 'plot pane-b', id: 'pane-b' });
  const titleA = h('div', { class: 'pane-title' }, refA);
  const titleB = h('div', { class: 'pane-title' }, refB);
  const morphButton = h('button', { class: 'morph' }, 'Morph A → B');
  const colourSelect = h('select', { class: 'colour-by' }, ['overlap', 'cluster', 'label'].map((c) => h('option', { value: c }, c)));
  const modeSelect = h('select', { class: 'mouse-mode' }, h('option', { value: 'panZoom' }, 'pan/zoom'), h('option', { value: 'lasso' }, 'lasso'));
  const legendBox = h('div', { class: 'legend-box' });
  const selectionInfo = h('div', { class: 'selection-info muted' });
  const metrics = h('section', { class: 'panel metrics' }, h('h3', {}, 'Metrics'), h('p', { class: 'muted' }, 'computing…'));
  const movers = h('section', { class: 'panel movers' }, h('h3', {}, 'Top movers'));
  const flows = h('section', { class: 'panel clusters' }, h('h3', {}, 'Where clusters went'));
  app.appendChild(h('div', { class: 'compare-page' },
    h('div', { class: 'toolbar row' }, 'colour ', colourSelect, ' mouse ', modeSelect, morphButton, selectionInfo),
    h('div', { class: 'panes' }, h('div', { class: 'pane' }, titleA, boxA), h('div', { class: 'pane' }, titleB, boxB)),
    legendBox,
    h('div', { class: 'panels' }, metrics, movers, flows)));

  const [points, colours] = await Promise.all([getPoints(`/api/compare/points?${q}`), getCodes(`/api/compare/colors?${q}&by=overlap`)]);
  loading.remove();
  let panes = [];
  let lastHover = null;
  const onHover = async (i, source) => {
    const other = panes.find((p) => p !== source);
    if (i === null) { hideItem(); return; }
    other.hover(i);
    lastHover = i;
    const item = await getJson(`/api/compare/item?${q}&index=${i}`).catch(() => null);
    if (item && lastHover === i) showItem(item, refA, source.clientOf(i));
  };
  const onSelect = (selection, source) => {
    const other = panes.find((p) => p !== source);
    other.select(selection);
    selectionInfo.textContent = selection.length ? `${selection.length} selected in both panes` : '';
  };
  const paneA = new Pane(boxA, points.n, { onHover, onSelect });
  const paneB = new Pane(boxB, points.n, { onHover, onSelect });
  panes = [paneA, paneB];
  window.__embver.panes = panes;
  for (const p of panes) {
    p.codes = colours.codes;
    p.scatterplot.set({ colorBy: 'valueA', pointColor: legendColours(colours.legend) });
  }
  const [a, b] = points.panes;
  // Both panes frame the union of both layouts: one scale for the two, and the morph of
  // A into B stays inside pane A.
  const shared = boundsOf(a, b);
  panes.forEach((p) => { p.bounds = shared; });
  await Promise.all([paneA.draw(a.x, a.y), paneB.draw(b.x, b.y)]);
  await nextPaint();
  window.__embver.firstPaint = performance.now();
  clear(legendBox).appendChild(legendView(colours.legend));

  let morphed = false;
  morphButton.addEventListener('click', async () => {
    morphButton.disabled = true;
    window.__embver.morph = 'running';
    const target = morphed ? a : b;
    await paneA.draw(target.x, target.y, { transition: true, duration: 1500 });
    morphed = !morphed;
    titleA.textContent = morphed ? `${refA} → morphed to ${refB}` : refA;
    morphButton.textContent = morphed ? 'Morph back to A' : 'Morph A → B';
    morphButton.disabled = false;
    window.__embver.morph = morphed ? 'done' : 'back';
  });
  modeSelect.addEventListener('change', () => panes.forEach((p) => p.setMode(modeSelect.value)));
  colourSelect.addEventListener('change', async () => {
    const next = await getCodes(`/api/compare/colors?${q}&by=${enc(colourSelect.value)}`);
    await Promise.all(panes.map((p) => p.colour(next.codes, next.legend)));
    clear(legendBox).appendChild(legendView(next.legend));
  });

  loadMetrics(metrics, q);
  loadMovers(movers, q, panes);
  loadFlows(flows, q);
  return () => { hideItem(); panes.forEach((p) => p.destroy()); };
}

async function loadMetrics(box, q) {
  try {
    const result = await getJson(`/api/compare?${q}`);
    const verdict = result.b.verdict ?? result.report?.verdict;
    clear(box).appendChild(h('div', {}, h('h3', {}, 'Metrics'),
      h('p', {}, `${result.shared} shared items · mean k-NN overlap (k=10) `, h('strong', { class: 'overlap-mean' }, fmt(result.overlap_mean))),
      verdict ? h('p', {}, `verdict of ${result.b.ref}: `, h('span', { class: `badge verdict-${verdict.label}` }, fmt(verdict.label ?? verdict))) : null,
      result.report_error ? h('p', { class: 'muted' }, result.report_error) : null,
      metricRows(result.report ?? {}),
      h('details', {}, h('summary', {}, 'full report'), reportView(result.report ?? {}))));
  } catch (error) {
    clear(box).append(h('h3', {}, 'Metrics'), errorBox(error));
  }
}

async function loadMovers(box, q, panes) {
  try {
    const result = await getJson(`/api/compare/movers?${q}&count=10`);
    box.appendChild(h('ol', { class: 'mover-list' }, result.movers.map((m) =>
      h('li', { onclick: () => panes.forEach((p) => p.select([m.index])) },
        h('strong', {}, m.item.id), ` overlap ${fmt(m.overlap, 2)}`,
        h('div', { class: 'snippet' }, 'old: ', m.old.join(', ')),
        h('div', { class: 'snippet' }, 'new: ', m.new.join(', '))))));
  } catch (error) {
    box.appendChild(errorBox(error));
  }
}

async function loadFlows(box, q) {
  try {
    const result = await getJson(`/api/compare/clusters?${q}`);
    // names come from the server: a cluster's number and top terms, as the CLI prints them
    box.appendChild(h('ul', {}, result.flows.map((f) =>
      h('li', {}, `${f.name} (${f.size}) → `, f.to.map((t) => `${t.name}: ${t.count}`).join(', ')))));
  } catch (error) {
    box.appendChild(errorBox(error));
  }
}
