// Talking to the embver ui server: JSON, binary layouts (EVP1) and colour codes (EVC1).
import { decodePoints, decodeCodes } from './frames.js';

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
  // a layout says whether it is the preview, the quick one or the full one (X-Embver-Stage)
  // and whether the vectors it was drawn from were checked against their hash
  meta.stage = response.headers.get('X-Embver-Stage');
  meta.verified = response.headers.get('X-Embver-Verified') !== 'false';
  const buffer = await response.arrayBuffer();
  stats.binaryBytes += buffer.byteLength;
  return buffer;
}

// Points frame: per pane x/y in [-1, 1] (Float32Array each), same scale on both axes.
// stage: 'preview', 'quick' or 'full' for a version's layout (null where the server does
// not say); rows: the items of a preview's points (null: every item, in order).
export async function getPoints(url) {
  const meta = {};
  const frame = decodePoints(await getBinary(url, meta));
  stats.binaryPoints += frame.n;
  return { ...frame, stage: meta.stage, verified: meta.verified };
}

// Colour frame: codes (Uint8Array | Uint16Array) and the legend.
export async function getCodes(url) {
  return decodeCodes(await getBinary(url));
}

export const enc = encodeURIComponent;
