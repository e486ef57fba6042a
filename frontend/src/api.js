// Talking to the embver ui server: JSON, binary layouts (EVP1) and colour codes (EVC1).

export class ApiError extends Error {}

export const stats = { binaryBytes: 0, binaryPoints: 0 };

async function request(url, options = {}) {
  const response = await fetch(url, { credentials: 'same-origin', ...options });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(`${response.status}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  }
  return response;
}

export async function getJson(url) {
  return (await request(url)).json();
}

export async function postJson(url, body) {
  const response = await request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Embver-Request': '1' },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function getBinary(url, meta = {}) {
  const response = await request(url);
  // a layout says whether it is the quick one or the full one (X-Embver-Stage)
  meta.stage = response.headers.get('X-Embver-Stage');
  const buffer = await response.arrayBuffer();
  stats.binaryBytes += buffer.byteLength;
  return buffer;
}

const GRID = 65535;

// Points frame: per pane x/y in [-1, 1] (Float32Array each), same scale on both axes.
// stage: 'quick' or 'full' for a version's layout (null where the server does not say).
export async function getPoints(url) {
  const meta = {};
  const buffer = await getBinary(url, meta);
  const head = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== 'EVP1') throw new ApiError(`unexpected points frame ${magic}`);
  const n = head.getUint32(4, true);
  const panes = head.getUint32(8, true);
  const column = n * 2 + ((4 - ((n * 2) % 4)) % 4);
  let offset = 16 + 16 * panes;
  const out = [];
  for (let p = 0; p < panes; p += 1) {
    const qx = new Uint16Array(buffer, offset, n);
    const qy = new Uint16Array(buffer, offset + column, n);
    offset += 2 * column;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    // 0.95 leaves a margin around the layout.
    for (let i = 0; i < n; i += 1) {
      x[i] = ((qx[i] / GRID) * 2 - 1) * 0.95;
      y[i] = ((qy[i] / GRID) * 2 - 1) * 0.95;
    }
    out.push({ x, y });
  }
  stats.binaryPoints += n;
  return { n, panes: out, stage: meta.stage };
}

// Colour frame: codes (Uint8Array | Uint16Array) and the legend.
export async function getCodes(url) {
  const buffer = await getBinary(url);
  const head = new DataView(buffer);
  const n = head.getUint32(4, true);
  const width = head.getUint32(8, true);
  const legendLength = head.getUint32(12, true);
  const legend = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 16, legendLength)));
  const codes = width === 1 ? new Uint8Array(buffer, 16 + legendLength, n) : new Uint16Array(buffer, 16 + legendLength, n);
  return { codes, legend };
}

export const enc = encodeURIComponent;
