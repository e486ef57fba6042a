// Decoding the binary frames of src/embver/server/binary.py from an ArrayBuffer: EVP1
// point layouts and EVC1 colour codes. The UI's fetches (api.js) and the notebook widget
// (widget.js, whose frames arrive as anywidget binary traits) share these.

export class FrameError extends Error {}

const GRID = 65535;

const magicOf = (buffer) => String.fromCharCode(...new Uint8Array(buffer, 0, 4));

// A points frame of some of a version's items carries their positions (flag ROWS).
const ROWS = 1;

// Points frame: per pane x/y in [-1, 1] (Float32Array each), same scale on both axes;
// rows: each point's item position (Uint32Array), or null when the frame holds every item.
export function decodePoints(buffer) {
  const magic = magicOf(buffer);
  if (magic !== 'EVP1') throw new FrameError(`unexpected points frame ${magic}`);
  const head = new DataView(buffer);
  const n = head.getUint32(4, true);
  const panes = head.getUint32(8, true);
  const flags = head.getUint32(12, true);
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
  const rows = flags & ROWS ? new Uint32Array(buffer, offset, n) : null;
  return { n, panes: out, rows };
}

// Colour frame: codes (Uint8Array | Uint16Array) and the legend.
export function decodeCodes(buffer) {
  const magic = magicOf(buffer);
  if (magic !== 'EVC1') throw new FrameError(`unexpected colour frame ${magic}`);
  const head = new DataView(buffer);
  const n = head.getUint32(4, true);
  const width = head.getUint32(8, true);
  const legendLength = head.getUint32(12, true);
  const legend = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 16, legendLength)));
  const codes = width === 1 ? new Uint8Array(buffer, 16 + legendLength, n) : new Uint16Array(buffer, 16 + legendLength, n);
  return { codes, legend };
}
