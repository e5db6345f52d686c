/** Binary units, as people read sizes in summaries and tables. */
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `681 B`, `4.0 KiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** The unit a chart whose largest value is `max` bytes is drawn in: its size in bytes and its name. */
export function byteScale(max: number): [number, string] {
  let unit = 0;
  while (max >= 1024 ** (unit + 1) && unit < BYTE_UNITS.length - 1) unit++;
  return [1024 ** unit, BYTE_UNITS[unit]];
}

export function plural(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}
