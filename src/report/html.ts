/**
 * HTML text from values nobody vetted (NETSTAT rows, reasons quoting guest
 * output, file names): everything that reaches the report goes through these,
 * so a table row that reads `<script>` shows as text.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or a quoted attribute value. */
export function escapeHtml(value: string | number | boolean | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the
 * line separators become \u escapes, so no value can close the script element.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A script's source inlined in a `<script>` element: a `</script` inside it would end the element early. */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** An id attribute value from free text (target and scenario names): letters, digits and dashes. */
export function anchorId(...parts: string[]): string {
  return parts.map((part) => part.replace(/[^A-Za-z0-9]+/g, '-')).join('--');
}
