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
const range = (r) => (r ? `[${fmt(r[0])}, ${fmt(r[1])}]` : '');
const pct = (share) => (share === undefined ? '—' : `${Math.round(share * 100)}%`);

// What a figure is read against, as `embver compare` prints it: [label, value] pairs
// such as ['chance', 0.084] or ['floor', 0.937]; those the report lacks are left out.
const against = (...pairs) => pairs.filter(([, value]) => value !== undefined && value !== null);

function neighbourhoodRows(report) {
  return Object.entries(report.neighbourhood ?? {}).flatMap(([k, block]) => [
    [`k-NN overlap @${k}`, block.overlap?.mean, ci(block.overlap), against(['chance', block.chance_overlap])],
    [`Jaccard @${k}`, block.jaccard?.mean, ci(block.jaccard), against(['chance', block.chance_jaccard])],
  ]);
}

function structureRows(st) {
  const nul = st.null ?? {};
  const rows = [];
  if (st.cka_debiased !== undefined) rows.push(['CKA (debiased)', st.cka_debiased, '', against(['null', nul.cka_debiased])]);
  if (st.procrustes_angle !== undefined) rows.push(['Procrustes angle', st.procrustes_angle, '', against(['null', nul.procrustes_angle])]);
  const sp = st.spearman;
  if (sp) rows.push([`similarity rank corr. (${sp.pairs} pairs)`, sp.rho, range(sp.ci), against(['chance', sp.chance])]);
  if (st.trustworthiness !== undefined) rows.push(['trustworthiness', st.trustworthiness, '', against(['null', nul.trustworthiness])]);
  return rows;
}

// Cluster agreement beside its noise floor (a version clustered again with itself) and the
// permutation null; split/merged/new/vanished count only clusters beyond that floor.
function clusterRows(c) {
  if (!c) return [];
  const floor = c.floor ?? {};
  const events = ['split', 'merged', 'new', 'vanished'];
  const beyond = events.map((e) => Object.keys(c[e] ?? {}).length).join(' · ');
  const within = events.map((e) => c.within_floor?.[e] ?? 0).join(' · ');
  return [
    ['cluster ARI', c.ari, range(floor.ari_cross_range), against(['floor', floor.ari], ['chance p95', c.chance_ari_p95])],
    ['cluster AMI', c.ami, '', against(['floor', floor.ami], ['chance p95', c.chance_ami_p95])],
    [`items clustered in both (noise ${pct(c.noise_old)} old, ${pct(c.noise_new)} new)`, c.clustered_in_both, '', against(['of', c.n_items])],
    ['clusters split · merged · new · vanished', beyond, '', against(['within the floor', within])],
  ];
}

function sameSpaceRows(same) {
  if (!same) return [];
  const hit = same.self_hit_at_1;
  return [
    ['cosine old↔new', same.cosine?.mean, ci(same.cosine), against(['random pairs', same.cosine_random_pairs?.mean])],
    [`cross-version retrieval @${same.cr_k}`, same.cr_at_k?.mean, ci(same.cr_at_k), against(['chance', same.cr_chance])],
    ['self-hit@1', hit?.mean, ci(hit), against(['chance', same.self_hit_chance])],
  ];
}

// Retention depends on the pool it is scored in: each map in the held-out test pool
// (chance k/(h-1)), the chosen maps also against the full index (chance k/(n-1)).
function migrationRows(m) {
  if (!m) return [];
  const pool = `test pool of ${m.n_holdout}`;
  const all = `all ${m.n_items} items`;
  const rows = (m.scores ?? []).map((s) =>
    [`${s.kind} map ${s.direction} retention, ${pool}`, s.retention, ci(s), against(['chance', m.chance])]);
  for (const best of [m.best_old_to_new, m.best_new_to_old].filter(Boolean)) {
    const name = `chosen ${best.kind} map ${best.direction}${m.best_refit_on ? ` (refit on ${m.best_refit_on})` : ''} retention`;
    rows.push([`${name}, ${pool}`, best.retention, ci(best), against(['chance', m.chance])]);
    rows.push([`${name}, ${all}`, best.retention_full, range([best.full_ci_low, best.full_ci_high]), against(['chance', m.chance_full])]);
  }
  return rows;
}

// The headline figures of a comparison, each beside its interval and chance level / noise floor.
function metricRows(report) {
  const rows = [...neighbourhoodRows(report), ...structureRows(report.structure ?? {}),
    ...clusterRows(report.clusters), ...sameSpaceRows(report.same_space), ...migrationRows(report.migration)];
  const level = (pairs) => pairs.map(([label, value]) => `${label} ${fmt(value)}`).join(' · ');
  return h('table', { class: 'metric-table' },
    h('thead', {}, h('tr', {}, ['metric', 'value', '95% interval', 'chance / null / floor'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map(([name, value, interval, pairs]) =>
      h('tr', {}, h('td', {}, name), h('td', {}, h('strong', {}, fmt(value))), h('td', { class: 'muted' }, interval), h('td', { class: 'muted' }, level(pairs))))));
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
    const ties = result.ties;
    if (!result.movers.length) box.appendChild(h('p', { class: 'muted' }, result.note ?? 'no movers'));
    // Jaccard ranks the movers; many often share the last one's value (hundreds at 0)
    if (ties && ties.tied > 1) {
      box.appendChild(h('p', { class: 'mover-ties muted' },
        `${ties.tied} of ${ties.of} items tie at Jaccard ${fmt(ties.jaccard, 2)} (k=${ties.k}) with the last shown; `
        + 'ties are ordered by how far their old neighbours moved in the new version'));
    }
    box.appendChild(h('ol', { class: 'mover-list' }, result.movers.map((m) =>
      h('li', { onclick: () => panes.forEach((p) => p.select([m.index])) },
        h('strong', {}, m.item.id), ` Jaccard ${fmt(m.jaccard, 2)}`,
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
