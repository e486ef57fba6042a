// Tiny DOM helpers. Text always goes through textContent: item text is data, never HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmt(value, digits = 3) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, String(error.message ?? error));
}

export const hoverCard = () => document.getElementById('hover-card');

// Show an item card (text, label, metadata, thumbnail) next to the pointer.
export function showItem(item, ref, at) {
  const card = hoverCard();
  clear(card);
  card.appendChild(h('div', { class: 'item-id' }, item.id));
  if (item.label !== null && item.label !== undefined) card.appendChild(h('div', { class: 'item-label' }, `label: ${item.label}`));
  if (item.text) card.appendChild(h('div', { class: 'item-text' }, item.text));
  if (item.has_image) {
    card.appendChild(h('img', { src: `/api/versions/${encodeURIComponent(ref)}/items/${item.index}/image`, alt: item.id }));
  }
  const meta = Object.entries(item.metadata ?? {}).slice(0, 6);
  if (meta.length) card.appendChild(h('div', { class: 'item-meta' }, meta.map(([k, v]) => `${k}: ${fmt(v)}`).join(' · ')));
  card.hidden = false;
  if (at) {
    card.style.left = `${Math.min(at.x + 14, window.innerWidth - 340)}px`;
    card.style.top = `${at.y + 14}px`;
  }
}

export function hideItem() {
  hoverCard().hidden = true;
}
