import './style.css';
import { h, clear, errorBox } from './dom.js';
import { renderRegistry } from './pages/registry.js';
import { renderVersion } from './pages/version.js';
import { renderCompare } from './pages/compare.js';
import { BACKGROUND, NOISE, SEQUENTIAL } from './scatter.js';

// Hooks for tests and benchmarks: first painted frame, panes, state, the colour scales,
// and the version page's steps in order (events).
window.__embver = {
  firstPaint: null, panes: [], page: null, ready: false,
  palette: { background: BACKGROUND, sequential: SEQUENTIAL, noise: NOISE },
};

let cleanup = null;
// A page may still be refining (the version page waits for its full layout) when the
// person navigates on: each route has a number, and a superseded one cleans up after itself.
let routeNumber = 0;

async function route() {
  const number = ++routeNumber;
  const app = document.getElementById('app');
  if (cleanup) cleanup();
  cleanup = null;
  window.__embver.panes = [];
  window.__embver.events = [];
  window.__embver.ready = false;
  document.body.dataset.ready = 'false';
  clear(app);
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const crumbs = clear(document.getElementById('crumbs'));
  try {
    if (parts[0] === 'version' && parts[1]) {
      crumbs.append(h('a', { href: '#/' }, 'registry'), ' / ', parts[1]);
      window.__embver.page = 'version';
      const done = await renderVersion(app, parts[1], parts[2]);
      if (number !== routeNumber) { done(); return; }
      cleanup = done;
    } else if (parts[0] === 'compare' && parts[1] && parts[2]) {
      crumbs.append(h('a', { href: '#/' }, 'registry'), ' / compare ', parts[1], ' → ', parts[2]);
      window.__embver.page = 'compare';
      cleanup = await renderCompare(app, parts[1], parts[2]);
    } else {
      window.__embver.page = 'registry';
      cleanup = await renderRegistry(app, parts[0] === 'space' ? parts[1] : null);
    }
  } catch (error) {
    if (number !== routeNumber) return;
    app.appendChild(errorBox(error));
    console.warn(error);
  }
  if (number !== routeNumber) return;
  window.__embver.ready = true;
  document.body.dataset.ready = 'true';
}

window.addEventListener('hashchange', route);
route();
