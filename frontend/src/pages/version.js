// Version page: WebGL projection, colour by cluster/label/metadata, hover, search,
// neighbours on click, dimension inspector, drift of a batch.
import { getJson, getPoints, getCodes, enc, stats } from '../api.js';
import { h, clear, fmt, errorBox, showItem, hideItem } from '../dom.js';
import { Pane, nextPaint, legendColours } from '../scatter.js';

export function legendView(legend) {
  const colours = legendColours(legend);
  return h('div', { class: 'legend' }, h('div', { class: 'legend-title' }, legend.title),
    legend.categories.map((c, i) => h('div', { class: 'legend-row' }, h('span', { class: 'swatch', style: `background:${colours[i]}` }), `${c.name} (${c.count})`)));
}

function itemRow(item, extra) {
  return h('li', {}, h('strong', {}, item.id), item.label !== null ? h('span', { class: 'muted' }, ` [${item.label}]`) : null,
    extra !== undefined ? h('span', { class: 'score' }, ` ${fmt(extra)}`) : null,
    item.text ? h('div', { class: 'snippet' }, item.text.slice(0, 140)) : null);
}

const POLL_MS = 300;
// the legend of the first frame, drawn before the colours come
const LOADING_LEGEND = { title: '', kind: 'categorical', categories: [{ name: 'loading', count: 0 }] };
const MORPH_MS = 800;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function progressText(status) {
  if (status.stage === 'failed') return `full layout failed: ${status.message}`;
  if (status.stage === 'full') return `${status.method} layout and clusters ready (${fmt(status.seconds)} s)`;
  const shown = status.layout_ready ? `${status.method} layout shown` : 'quick PCA layout shown';
  return `${shown} · ${status.message}… ${Math.round(status.fraction * 100)}% · ${fmt(status.seconds)} s`;
}

function previewText(points, count) {
  return `preview: ${points.n.toLocaleString('en')} of ${count.toLocaleString('en')} items (sampled), not yet checked against the store's content hash · reading every item…`;
}

// Every step the page takes, in order, with its time since navigation (tests check the
// order; the benchmark reads the times).
function record(name, detail = {}) {
  (window.__embver.events ??= []).push({ name, ms: performance.now(), ...detail });
}

export async function renderVersion(app, ref, methodArg) {
  // The first frame waits only for the summary and the preview: above 10 000 items the
  // server sends the quick layout of the sampled rows it is fitted on, read without the
  // content-hash check (said so on the page), then the page asks for every row (checked)
  // and the colours. On a version whose projection is not cached yet the server computes
  // the full one in the background: the page shows its progress and morphs to it when it
  // is ready (refine below).
  const t0 = performance.now();
  const loading = app.appendChild(h('p', { class: 'loading muted' }, `Loading ${ref}…`));
  const wanted = methodArg ? `method=${enc(methodArg)}` : '';
  const pointsLoad = getPoints(`/api/versions/${enc(ref)}/points?preview=true&${wanted}`);
  pointsLoad.catch(() => {}); // awaited below, after the summary: no unhandled rejection
  const info = await getJson(`/api/versions/${enc(ref)}`);
  loading.remove();
  const method = methodArg ?? info.default_method;
  const plotBox = h('div', { class: 'plot', id: 'plot' });
  const side = h('aside', { class: 'side' });
  app.appendChild(h('div', { class: 'version-page' }, plotBox, side));

  const status = h('div', { class: 'status muted' }, `${info.count} items × ${info.dim} · ${info.metric} · layout ${method}`);
  const progress = h('div', { class: 'layout-progress muted', role: 'status' }, 'reading the layout…');
  const methodSelect = h('select', { class: 'method' }, info.methods.map((m) => h('option', { value: m, selected: m === method }, m)));
  methodSelect.addEventListener('change', () => { location.hash = `#/version/${enc(ref)}/${methodSelect.value}`; });
  // coloured by label when the items have labels (the server's by=default), else by cluster
  const colourSelect = h('select', { class: 'colour-by' }, ['cluster', 'label'].map((c) => h('option', { value: c }, c)));
  const legendBox = h('div', { class: 'legend-box' });
  const search = h('input', { class: 'search', type: 'search', placeholder: 'search text, label, metadata' });
  const searchOut = h('div', { class: 'search-out muted' });
  const neighboursBox = h('div', { class: 'neighbours' }, h('p', { class: 'muted' }, 'Click a point to see its nearest neighbours.'));
  const dimsBox = h('div', { class: 'dims' });
  const driftBox = h('div', { class: 'drift' });
  side.append(
    h('h2', {}, info.ref), status, progress,
    h('div', { class: 'row' }, 'layout ', methodSelect, ' colour ', colourSelect),
    h('div', { class: 'row muted' }, 'drag: pan · wheel: zoom · shift+drag: lasso · click: neighbours'),
    legendBox,
    h('h3', {}, 'Search'), search, searchOut,
    h('h3', {}, 'Nearest neighbours'), neighboursBox,
    h('details', { class: 'dims-panel' }, h('summary', {}, 'Dimension inspector'), dimsBox),
    h('details', { class: 'drift-panel' }, h('summary', {}, 'Drift of a batch'), driftBox),
  );

  let pane;
  const onHover = async (i, p) => {
    if (i === null) return hideItem();
    const item = await getJson(`/api/versions/${enc(ref)}/items/${i}`);
    showItem(item, ref, p.clientOf(i));
  };
  const onSelect = async (selection) => {
    if (selection.length !== 1) return;
    const i = selection[0];
    clear(neighboursBox).appendChild(h('p', { class: 'muted' }, 'searching…'));
    try {
      const result = await getJson(`/api/versions/${enc(ref)}/neighbors/${i}?k=10`);
      clear(neighboursBox).append(h('p', {}, 'Neighbours of ', h('strong', {}, result.item.id)),
        h('ol', { class: 'neighbour-list' }, result.neighbors.map((n) => itemRow(n, n.score))));
      pane.select([i, ...result.neighbors.map((n) => n.index)]);
    } catch (error) {
      clear(neighboursBox).appendChild(errorBox(error));
    }
  };
  // the WebGL pane is made (and its shaders compiled) while the server answers
  const made = performance.now();
  pane = new Pane(plotBox, info.count, { onHover, onSelect });
  window.__embver.panes = [pane];
  // one colour until the colours come (the clusters are rarely ready on a first visit)
  pane.scatterplot.set({ colorBy: 'valueA', pointColor: legendColours(LOADING_LEGEND) });
  await pane.warmUp();
  const paneMs = performance.now() - made;
  const points = await pointsLoad;
  const loaded = performance.now();
  const coloursLoad = getCodes(`/api/versions/${enc(ref)}/colors?by=default&${wanted}`);
  progress.textContent = points.stage === 'preview' ? previewText(points, info.count)
    : points.stage === 'quick' ? 'quick PCA layout shown · starting the full layout…' : '';
  plotBox.dataset.verified = String(points.verified);
  await pane.draw(points.panes[0].x, points.panes[0].y, { positions: points.rows });
  const drawn = performance.now();
  await nextPaint();
  window.__embver.firstPaint = performance.now();
  window.__embver.layoutStages = [points.stage ?? 'full'];
  record(`frame:${points.stage ?? 'full'}`, { points: points.n, verified: points.verified, progress: progress.textContent });
  window.__embver.timing = {
    // fetchMs: until the preview was in (the pane was made meanwhile: paneMs)
    startMs: t0, fetchMs: loaded - t0, drawMs: window.__embver.firstPaint - loaded,
    paintMs: window.__embver.firstPaint - drawn, paneMs, ...pane.timing, bytes: stats.binaryBytes, points: points.n,
  };

  // every item (read in full and checked), the colours meanwhile
  const everyItem = points.stage === 'preview' ? getPoints(`/api/versions/${enc(ref)}/points?${wanted}`) : null;
  const colours = await coloursLoad;
  colourSelect.value = colours.legend.title === 'label' ? 'label' : 'cluster';
  await pane.colour(colours.codes, colours.legend);
  clear(legendBox).appendChild(legendView(colours.legend));
  record('colours');
  let shown = points.stage;
  if (everyItem) {
    let all;
    try {
      all = await everyItem;
    } catch (error) {
      // the preview's vectors did not pass the check of the full read: take it back
      pane.destroy();
      clear(plotBox).appendChild(errorBox(error));
      plotBox.dataset.verified = 'failed';
      progress.textContent = 'the preview was withdrawn: reading every item failed (see the plot)';
      progress.classList.add('error-text');
      record('frame:withdrawn');
      return () => hideItem();
    }
    if (!plotBox.isConnected) return () => { hideItem(); pane.destroy(); };
    await pane.draw(all.panes[0].x, all.panes[0].y);
    plotBox.dataset.verified = String(all.verified);
    shown = all.stage;
    window.__embver.layoutStages.push(all.stage);
    record(`frame:${all.stage}`, { points: all.n, verified: all.verified });
    progress.textContent = all.stage === 'quick' ? 'quick PCA layout shown · starting the full layout…' : '';
  }

  let legend = colours.legend;
  const recolour = async () => {
    const next = await getCodes(`/api/versions/${enc(ref)}/colors?by=${enc(colourSelect.value)}&method=${enc(method)}`);
    legend = next.legend;
    await pane.colour(next.codes, next.legend);
    clear(legendBox).appendChild(legendView(next.legend));
  };
  colourSelect.addEventListener('change', recolour);
  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      if (!search.value.trim()) { pane.select([]); clear(searchOut); return; }
      const result = await getJson(`/api/versions/${enc(ref)}/search?q=${enc(search.value)}`);
      pane.select(result.positions);
      clear(searchOut).append(`${result.positions.length} match(es)`);
    }, 200);
  });
  dimsBox.parentElement.addEventListener('toggle', () => dimensionInspector(dimsBox, ref), { once: true });
  // Metadata fields need the item table: fetched once the first frame is on screen.
  const keys = await getJson(`/api/versions/${enc(ref)}/metadata-keys`);
  keys.forEach((k) => colourSelect.appendChild(h('option', { value: `meta:${k}` }, `meta:${k}`)));
  driftPanel(driftBox, ref, keys);
  // The page is ready once the full layout (and its clusters) are drawn.
  if (shown === 'quick' || legend.pending) {
    await refine({ ref, wanted, pane, plotBox, progress, stage: shown, recolour, pending: () => legend.pending });
  }
  return () => { hideItem(); pane.destroy(); };
}

// Poll the background layout until it is complete: morph to the full layout as soon as
// its coordinates are ready, recolour when the clusters are.
async function refine({ ref, wanted, pane, plotBox, progress, stage, recolour, pending }) {
  let shown = stage;
  for (;;) {
    if (!plotBox.isConnected) return; // the person went to another page
    const status = await getJson(`/api/versions/${enc(ref)}/layout-status?${wanted}`);
    window.__embver.layoutStatus = status;
    (window.__embver.statusStages ??= []).push(status.stage);
    record(`status:${status.stage}`);
    progress.textContent = progressText(status);
    if (status.stage === 'failed') {
      progress.classList.add('error-text');
      return;
    }
    if (status.layout_ready && shown !== 'full') {
      const next = await getPoints(`/api/versions/${enc(ref)}/points?${wanted}`);
      if (!plotBox.isConnected) return;
      if (next.stage === 'full') {
        await pane.draw(next.panes[0].x, next.panes[0].y, { transition: true, duration: MORPH_MS });
        if (pane.followsData) await pane.fit();
        shown = 'full';
        window.__embver.layoutStages.push('full');
        record('frame:full');
        window.__embver.fullPaint = performance.now();
      }
    }
    if (status.stage === 'full' && shown === 'full') {
      if (pending()) await recolour();
      return;
    }
    await sleep(POLL_MS);
  }
}

async function dimensionInspector(box, ref) {
  try {
    const stats = await getJson(`/api/versions/${enc(ref)}/dimensions`);
    const order = stats.variance_share.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 24);
    const detail = h('div', { class: 'dim-detail' });
    const max = order[0]?.[0] || 1;
    box.append(h('p', { class: 'muted' }, `${stats.dim} dimensions; the ${order.length} with most variance:`),
      h('div', { class: 'dim-bars' }, order.map(([share, d]) =>
        h('button', { class: 'dim-bar', title: `dimension ${d}: ${(share * 100).toFixed(2)}% of variance`, onclick: () => showDimension(detail, ref, d) },
          h('span', { class: 'dim-name' }, `d${d}`), h('span', { class: 'bar', style: `width:${(share / max) * 100}%` })))),
      detail);
  } catch (error) {
    box.appendChild(errorBox(error));
  }
}

async function showDimension(box, ref, d) {
  const result = await getJson(`/api/versions/${enc(ref)}/dimensions/${d}`);
  clear(box).append(h('h4', {}, `dimension ${d}`),
    h('div', { class: 'cols' },
      h('div', {}, h('div', { class: 'muted' }, 'highest'), h('ol', {}, result.top.map((i) => itemRow(i, i.value)))),
      h('div', {}, h('div', { class: 'muted' }, 'lowest'), h('ol', {}, result.bottom.map((i) => itemRow(i, i.value))))));
}

function driftPanel(box, ref, keys) {
  if (!keys.length) {
    box.appendChild(h('p', { class: 'muted' }, 'Drift needs a metadata field that marks a batch (e.g. batch=2024-06).'));
    return;
  }
  const key = h('select', { class: 'drift-key' }, keys.map((k) => h('option', { value: k }, k)));
  const value = h('input', { class: 'drift-value', placeholder: 'value' });
  const out = h('div', { class: 'drift-out' });
  const run = async () => {
    clear(out);
    try {
      const result = await getJson(`/api/versions/${enc(ref)}/drift?key=${enc(key.value)}&value=${enc(value.value)}`);
      const { batch, ...rest } = result;
      window.__embver.panes[0]?.select(batch);
      out.appendChild(h('table', {}, h('tbody', {}, Object.entries(rest).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, fmt(v)))))));
    } catch (error) {
      out.appendChild(errorBox(error));
    }
  };
  box.append(h('div', { class: 'row' }, key, ' = ', value, h('button', { onclick: run }, 'measure')), out);
}
