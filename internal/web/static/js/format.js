// Number, money and time formatting for tables. Pure functions.

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

// int formats a count with thousands separators; non-numbers render as "–".
export function int(n) {
  const v = Number(n);
  return Number.isFinite(v) ? intFmt.format(v) : '\u2013';
}

// usd formats a dollar amount. Token costs are tiny, so amounts under one cent
// keep 4 significant digits instead of rounding to $0.00.
export function usd(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '\u2013';
  if (v === 0) return '$0.00';
  if (Math.abs(v) < 0.01) {
    const s = Math.abs(v) < 1e-6 ? v.toFixed(10) : v.toPrecision(4);
    return '$' + s.replace(/0+$/, '').replace(/\.$/, '');
  }
  return '$' + v.toFixed(Math.abs(v) < 100 ? 4 : 2);
}

// price formats a price per 1K tokens (e.g. 0.00013 -> "$0.00013").
export function price(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '\u2013';
  return '$' + String(Number(v.toPrecision(6)));
}

// tokens formats a context length: 4096 -> "4K", 131072 -> "128K".
export function contextLen(n) {
  const v = Number(n);
  if (!Number.isFinite(v) || v <= 0) return '\u2013';
  return v >= 1024 ? `${Math.round(v / 1024)}K` : String(v);
}

// dateTime formats an RFC 3339 time in the user's locale; bad input passes through.
export function dateTime(s) {
  if (!s) return '\u2013';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

// date formats the day of an RFC 3339 time in the user's locale.
export function date(s) {
  if (!s) return '\u2013';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleDateString();
}

// ms formats a duration in milliseconds: 850 -> "850 ms", 2300 -> "2.3 s".
export function ms(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '\u2013';
  return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
}

// cost returns the USD cost of a usage at prices per 1K tokens, input and output apart.
export function cost(promptTokens, completionTokens, inputPer1K, outputPer1K) {
  return (Number(promptTokens) || 0) / 1000 * (Number(inputPer1K) || 0) +
    (Number(completionTokens) || 0) / 1000 * (Number(outputPer1K) || 0);
}
