/** The most of a user's or a guest's input an error message repeats. */
export const QUOTE_LIMIT = 200;

/**
 * Quotes input for an error message, cut to QUOTE_LIMIT characters: a 50 MB
 * one-line NETSTAT file once came back as 52 MB on stderr. The cut says how
 * much was left out, so nobody mistakes it for the whole value.
 */
export function quoteInput(value: string, limit = QUOTE_LIMIT): string {
  if (value.length <= limit) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, limit))}… (${value.length - limit} more characters)`;
}
