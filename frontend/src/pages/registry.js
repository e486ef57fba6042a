// Registry page: spaces, version tree with bumps/verdicts/aliases, lineage, recipe diff, alias moves.
import { getJson, postJson, enc } from '../api.js';
import { h, clear, fmt, errorBox } from '../dom.js';

export async function renderRegistry(app, selected) {
  const spaces = await getJson('/api/spaces');
  const side = h('aside', { class: 'spaces' }, h('h2', {}, 'Spaces'));
  if (!spaces.length) side.appendChild(h('p', {}, 'No spaces yet. Register a version with `embver embed` or `embver import`.'));
  for (const s of spaces) {
    side.appendChild(
      h('a', { href: `#/space/${enc(s.space)}`, class: `space-link${s.space === selected ? ' active' : ''}` },
        h('strong', {}, s.space), h('span', { class: 'muted' }, ` ${s.versions.length} version(s)`)),
    );
  }
  const body = h('section', { class: 'space-detail' });
  app.appendChild(h('div', { class: 'registry' }, side, body));
  const name = selected ?? spaces[0]?.space;
  if (name) await renderSpace(body, name);
  return null;
}

function depthOf(versions) {
  const byRef = new Map(versions.map((v) => [v.ref, v]));
  const depth = new Map();
  const walk = (v) => {
    if (depth.has(v.ref)) return depth.get(v.ref);
    const parent = v.parent_ref && byRef.get(v.parent_ref);
    const d = parent ? walk(parent) + 1 : 0;
    depth.set(v.ref, d);
    return d;
  };
  versions.forEach(walk);
  return depth;
}

// Order versions depth-first along the lineage so children sit under their parent.
function treeOrder(versions) {
  const children = new Map();
  const roots = [];
  const refs = new Set(versions.map((v) => v.ref));
  for (const v of versions) {
    if (v.parent_ref && refs.has(v.parent_ref)) {
      if (!children.has(v.parent_ref)) children.set(v.parent_ref, []);
      children.get(v.parent_ref).push(v);
    } else roots.push(v);
  }
  const out = [];
  const visit = (v) => {
    out.push(v);
    (children.get(v.ref) ?? []).forEach(visit);
  };
  roots.forEach(visit);
  return out;
}

// The newest recorded task figure of a version, its 95% interval and chance level.
function evaluationCell(e) {
  if (!e) return h('span', { class: 'muted' }, '—');
  const num = (x) => (typeof x === 'number' ? x.toFixed(3) : '–');
  return h('span', { title: `over ${e.units} ${e.unit_kind ?? 'items'}` },
    `${e.name} ${num(e.value)} `, h('span', { class: 'muted' }, `[${num(e.low)}, ${num(e.high)}] chance ${num(e.chance)}`));
}

function verdictBadge(verdict) {
  if (!verdict) return null;
  const label = verdict.label ?? verdict.verdict ?? 'verdict';
  return h('span', { class: `badge verdict-${label}`, title: JSON.stringify(verdict) }, label);
}

async function renderSpace(body, name) {
  clear(body);
  const detail = await getJson(`/api/spaces/${enc(name)}`);
  const depth = depthOf(detail.versions);
  body.appendChild(h('h2', {}, name));

  const rows = treeOrder(detail.versions).map((v) =>
    h('tr', { dataset: { ref: v.ref } },
      h('td', { class: 'tree' }, h('span', { style: `padding-left:${depth.get(v.ref) * 18}px` }, depth.get(v.ref) ? '└ ' : '', h('strong', {}, v.version))),
      h('td', {}, h('span', { class: `badge bump-${v.bump}`, title: v.reasons.join('\n') }, v.bump)),
      h('td', {}, verdictBadge(v.verdict)),
      h('td', {}, v.aliases.map((a) => h('span', { class: 'badge alias' }, a))),
      h('td', {}, `${v.count} × ${v.dim}`, h('span', { class: 'muted' }, ` ${v.metric}`)),
      h('td', { class: 'evaluation' }, evaluationCell(v.evaluation)),
      h('td', { class: 'muted' }, (v.created_at ?? '').slice(0, 19).replace('T', ' '), v.author ? ` · ${v.author}` : ''),
      h('td', { class: 'muted lineage' },
        v.components.length ? h('div', {}, 'built from ', v.components.map((c) => h('a', { href: `#/space/${enc(c.split('@')[0])}`, class: 'badge component' }, c))) : null,
        v.used_by?.length ? h('div', {}, 'used by ', v.used_by.map((c) => h('a', { href: `#/space/${enc(c.split('@')[0])}`, class: 'badge component' }, c))) : null),
      h('td', {},
        h('a', { href: `#/version/${enc(v.ref)}` }, 'explore'),
        v.parent_ref ? [' · ', h('a', { href: `#/compare/${enc(v.parent_ref)}/${enc(v.ref)}` }, 'compare with parent')] : null),
    ),
  );
  body.appendChild(h('h3', {}, 'Versions and lineage'));
  body.appendChild(
    h('table', { class: 'versions' },
      h('thead', {}, h('tr', {}, ['version', 'bump', 'verdict', 'aliases', 'items', 'task (embver eval)', 'created', 'lineage', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows)),
  );
  if (detail.edges.length) {
    body.appendChild(
      h('details', { class: 'edges' }, h('summary', {}, `${detail.edges.length} lineage edge(s)`),
        h('ul', {}, detail.edges.map((e) => h('li', {}, `${e.from} → ${e.to} (${e.kind}${e.bump ? `, ${e.bump}` : ''})`)))),
    );
  }
  body.appendChild(recipeDiffPanel(detail.versions));
  body.appendChild(aliasPanel(name, detail));
}

function versionSelect(versions, initial, cls) {
  return h('select', { class: cls }, versions.map((v) => h('option', { value: v.ref, selected: v.ref === initial }, v.version)));
}

function recipeDiffPanel(versions) {
  const panel = h('section', { class: 'panel recipe-diff' }, h('h3', {}, 'Recipe diff'));
  if (versions.length < 2) return panel.appendChild(h('p', { class: 'muted' }, 'One version only.')) && panel;
  const a = versionSelect(versions, versions[versions.length - 2].ref, 'diff-a');
  const b = versionSelect(versions, versions[versions.length - 1].ref, 'diff-b');
  const out = h('div', { class: 'diff-out' });
  const run = async () => {
    clear(out);
    try {
      const diff = await getJson(`/api/recipe-diff?a=${enc(a.value)}&b=${enc(b.value)}`);
      out.append(
        h('p', {}, 'derived bump: ', h('span', { class: `badge bump-${diff.bump}` }, diff.bump)),
        h('ul', {}, diff.reasons.map((r) => h('li', {}, r))),
        h('table', { class: 'changes' },
          h('thead', {}, h('tr', {}, h('th', {}, 'field'), h('th', {}, diff.a), h('th', {}, diff.b))),
          h('tbody', {}, diff.changes.map((c) => h('tr', {}, h('td', {}, c.field), h('td', { class: 'old' }, fmt(c.a)), h('td', { class: 'new' }, fmt(c.b)))))),
        h('p', {}, h('a', { href: `#/compare/${enc(diff.a)}/${enc(diff.b)}` }, 'compare these versions')),
      );
    } catch (error) {
      out.appendChild(errorBox(error));
    }
  };
  panel.append(h('div', { class: 'row' }, a, ' → ', b, h('button', { onclick: run, class: 'diff-run' }, 'diff')), out);
  return panel;
}

function historyTable(history) {
  return h('table', { class: 'history' },
    h('thead', {}, h('tr', {}, ['when', 'from', 'to', 'who', 'reason'].map((t) => h('th', {}, t)))),
    h('tbody', {}, history.slice().reverse().map((e) =>
      h('tr', {},
        h('td', {}, fmt(e.at ?? e.moved_at ?? e.created_at ?? e.when).slice(0, 19).replace('T', ' ')),
        h('td', {}, fmt(e.from_version ?? e.old ?? e.from)),
        h('td', {}, fmt(e.to_version ?? e.new ?? e.to ?? e.version)),
        h('td', {}, fmt(e.actor ?? e.who)),
        h('td', { class: 'reason' }, fmt(e.reason)))),
    ));
}

function aliasPanel(space, detail) {
  const panel = h('section', { class: 'panel aliases' }, h('h3', {}, 'Aliases'));
  for (const [alias, info] of Object.entries(detail.aliases)) {
    panel.append(
      h('h4', {}, h('span', { class: 'badge alias' }, alias), ` → ${info.version}`,
        info.reason ? h('span', { class: 'muted alias-reason' }, ` — ${info.reason}`) : null),
      historyTable(info.history));
  }
  // Move (or create) an alias: pick, give a reason, then confirm.
  const aliasInput = h('input', { class: 'move-alias', placeholder: 'alias', value: Object.keys(detail.aliases)[0] ?? 'production' });
  const target = versionSelect(detail.versions, detail.versions[0]?.ref, 'move-target');
  const reason = h('input', { class: 'move-reason', placeholder: 'reason (recorded in the history)', size: 40 });
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  const status = h('div', { class: 'move-status' });
  const ask = () => {
    clear(status);
    if (!reason.value.trim()) {
      status.appendChild(errorBox(new Error('Give a reason: it is recorded in the alias history.')));
      return;
    }
    const version = target.value.split('@')[1];
    clear(confirmBox).append(
      h('span', {}, `Move ${aliasInput.value} to ${version}? Reason: “${reason.value.trim()}”`),
      h('button', { class: 'confirm-yes', onclick: () => move(version) }, 'Confirm move'),
      h('button', { class: 'confirm-no', onclick: () => { confirmBox.hidden = true; } }, 'Cancel'),
    );
    confirmBox.hidden = false;
  };
  const move = async (version) => {
    try {
      await postJson(`/api/spaces/${enc(space)}/aliases/${enc(aliasInput.value.trim())}`, { version, reason: reason.value.trim() });
      const body = panel.parentElement;
      await renderSpace(body, space);
    } catch (error) {
      confirmBox.hidden = true;
      status.appendChild(errorBox(error));
    }
  };
  panel.append(h('div', { class: 'row move' }, 'Move ', aliasInput, ' to ', target, reason, h('button', { class: 'move-ask', onclick: ask }, 'Move…')), confirmBox, status);
  return panel;
}
