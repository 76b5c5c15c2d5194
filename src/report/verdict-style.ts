import type { VerdictStatus } from '../model/run-results.ts';
import type { TcpState } from '../model/tcp-state.ts';

/**
 * How a verdict looks in the report. Each has a word and a symbol as well as
 * a colour, and a fill pattern of its own (none, stripes, cross-hatch, dots),
 * so the matrix reads the same printed in grey or by someone who does not
 * tell red from green. The colours are light enough for black text on them.
 */
export interface VerdictStyle {
  label: string;
  symbol: string;
  /** Background colour (CSS hex). */
  color: string;
  /** CSS background-image drawn over the colour; 'none' for pass. */
  pattern: string;
}

export const VERDICT_STYLES: Readonly<Record<VerdictStatus, VerdictStyle>> = {
  pass: { label: 'PASS', symbol: '✓', color: '#c8f0d0', pattern: 'none' },
  fail: {
    label: 'FAIL',
    symbol: '✗',
    color: '#ffb8b0',
    pattern: 'repeating-linear-gradient(45deg, rgba(0,0,0,0.28) 0 2px, transparent 2px 8px)',
  },
  'infra-error': {
    label: 'INFRA-ERROR',
    symbol: '⚠',
    color: '#ffe08a',
    pattern:
      'repeating-linear-gradient(45deg, rgba(0,0,0,0.2) 0 1px, transparent 1px 6px), repeating-linear-gradient(-45deg, rgba(0,0,0,0.2) 0 1px, transparent 1px 6px)',
  },
  skipped: { label: 'SKIPPED', symbol: '–', color: '#e4e7eb', pattern: 'radial-gradient(rgba(0,0,0,0.3) 1px, transparent 1.5px)' },
};

/**
 * The chart's line per TCP state: a colour, and a dash and point shape of its
 * own so the lines stay apart in grey. Held states (the leak) are solid.
 */
export const STATE_STYLES: Readonly<Partial<Record<TcpState, { color: string; dash: number[]; point: string }>>> = {
  ESTABLISHED: { color: '#1f5fbf', dash: [], point: 'circle' },
  CLOSE_WAIT: { color: '#c0392b', dash: [], point: 'rect' },
  FIN_WAIT_2: { color: '#8e44ad', dash: [], point: 'triangle' },
  TIME_WAIT: { color: '#7f8c8d', dash: [6, 4], point: 'crossRot' },
  FIN_WAIT_1: { color: '#d35400', dash: [2, 3], point: 'star' },
  SYN_SENT: { color: '#16a085', dash: [10, 3, 2, 3], point: 'rectRot' },
  LAST_ACK: { color: '#2c3e50', dash: [1, 2], point: 'cross' },
  CLOSING: { color: '#b7950b', dash: [8, 2], point: 'line' },
};
export const DEFAULT_STATE_STYLE = { color: '#555555', dash: [3, 3], point: 'dash' };
