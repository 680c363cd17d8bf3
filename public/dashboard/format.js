// Number, money and time formatting for the dashboard, in the browser's locale.

const fractionDigitsCache = new Map();
const moneyFormatCache = new Map();

/** The currency's minor unit: 2 for EUR (cents), 0 for JPY, 3 for KWD. */
export function fractionDigits(currency) {
  let digits = fractionDigitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    fractionDigitsCache.set(currency, digits);
  }
  return digits;
}

function moneyFormat(currency) {
  let format = moneyFormatCache.get(currency);
  if (format === undefined) {
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    moneyFormatCache.set(currency, format);
  }
  return format;
}

/**
 * An amount in the currency's minor unit, as the API sends it: a number, or a string of digits
 * past Number.MAX_SAFE_INTEGER. The string form is formatted as an exact decimal string, so
 * that no digit is rounded away.
 */
export function formatMoney(amount, currency) {
  try {
    const digits = fractionDigits(currency);
    if (typeof amount === 'string') return moneyFormat(currency).format(decimalString(amount, digits));
    return moneyFormat(currency).format(amount / 10 ** digits);
  } catch {
    return `${String(amount)} ${currency}`; // not a currency this browser knows
  }
}

/** The amount in major units as a float: good enough for a chart's axis, never for a figure. */
export function majorUnits(amount, currency) {
  try {
    return Number(amount) / 10 ** fractionDigits(currency);
  } catch {
    return Number(amount);
  }
}

/** A short money label for an axis tick (€1.2K). */
export function formatMoneyCompact(major, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, notation: 'compact' }).format(major);
  } catch {
    return String(major);
  }
}

function decimalString(digitsText, fraction) {
  const negative = digitsText.startsWith('-');
  const digits = (negative ? digitsText.slice(1) : digitsText).padStart(fraction + 1, '0');
  const text = fraction === 0 ? digits : `${digits.slice(0, -fraction)}.${digits.slice(-fraction)}`;
  return negative ? `-${text}` : text;
}

const countFormat = new Intl.NumberFormat(undefined);

export function formatCount(n) {
  return countFormat.format(n);
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  hourCycle: 'h23', timeZone: 'UTC',
});
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const hourFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC',
});

export function formatDateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTimeFormat.format(date);
}

/** The label of a chart bucket: its day, or its day and hour (UTC, as the buckets are). */
export function formatBucket(iso, interval) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return (interval === 'hour' ? hourFormat : dayFormat).format(date);
}
