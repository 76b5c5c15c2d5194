import { defineTargetSuite } from './target-suite.ts';

// An open target is clean after 10 cycles as after 120, so CI runs at most 10 per program.
defineTargetSuite('wine', { maxCycles: 10 });
